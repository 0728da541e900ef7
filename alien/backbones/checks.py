"""Refusing a backbone that would train into nonsense, before any work starts.

Two ways a backbone folder goes wrong quietly: it lacks tokenizer files (then
transformers builds a 5-token vocabulary from ``config.json`` and every word
becomes ``[UNK]``), or its weights are a pickle (``pytorch_model.bin``,
``*.pt``), which can run code when loaded. Both :func:`alien.backbones.loading.load_backbone`
and the cheap pre-flight :func:`alien.backbones.loading.check_backbone` apply
:func:`check_folder` and :func:`check_tokenizer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "*.model")
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "model-*.safetensors")
PICKLE_WEIGHTS = ("pytorch_model*.bin", "pytorch_model.bin.index.json", "*.pt", "*.pth", "*.ckpt")
MIN_VOCAB = 100
SAMPLE = "the quick brown fox jumps over the lazy dog"


def check_folder(folder: str | Path, *, allow_pickle: bool = False) -> None:
    """Refuse a Hugging Face folder without tokenizer files or without safe weights.

    Raises:
        ValueError: no tokenizer files; no weights; or only pickle weights while
            ``allow_pickle`` is false. The message names the folder and its files.
    """
    path = Path(folder)
    present = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    if not _any(path, TOKENIZER_FILES):
        raise ValueError(
            f"backbone folder {str(path)!r} has no tokenizer files (needs one of {list(TOKENIZER_FILES)}; "
            f"it holds {present}); without them transformers builds a near-empty vocabulary and every "
            "word becomes unknown. Save the tokenizer next to the model (tokenizer.save_pretrained)"
        )
    if _any(path, SAFE_WEIGHTS):
        return
    pickles = sorted({p.name for pattern in PICKLE_WEIGHTS for p in path.glob(pattern)})
    if not pickles:
        raise ValueError(
            f"backbone folder {str(path)!r} has no weights (looked for {list(SAFE_WEIGHTS)}; it holds {present})"
        )
    if not allow_pickle:
        raise ValueError(
            f"backbone folder {str(path)!r} has only pickle weights {pickles}, which can run code when "
            "loaded; convert them to safetensors, or opt in with allow_pickle=True "
            "(params: backbone.allow_pickle: true) if you trust their source"
        )


def check_tokenizer(tokenizer: Any, *, source: str) -> None:
    """Refuse a degenerate tokenizer: a tiny vocabulary, or one that turns a plain sentence into unknowns.

    Raises:
        ValueError: fewer than :data:`MIN_VOCAB` tokens, or :data:`SAMPLE`
            tokenises to nothing or to unknown tokens only.
    """
    size = len(tokenizer)
    if size < MIN_VOCAB:
        raise ValueError(
            f"the tokenizer of {source!r} has {size} tokens (fewer than {MIN_VOCAB}): it is not a real "
            "vocabulary (were the tokenizer files saved with the model?)"
        )
    ids = tokenizer(SAMPLE, add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    if not ids or (unk is not None and all(i == unk for i in ids)):
        raise ValueError(
            f"the tokenizer of {source!r} turns {SAMPLE!r} into {len(ids)} unknown tokens: "
            "it cannot represent ordinary text"
        )


def _any(folder: Path, patterns: tuple[str, ...]) -> bool:
    return folder.is_dir() and any(next(folder.glob(pattern), None) is not None for pattern in patterns)
