"""``alien feedback`` and ``alien monitor``, and the prediction log of ``alien predict``.

alien feedback labels.csv [--append-to-source]   attach late labels (columns id,label) by request id
alien monitor [--version V] [--partial]          the log's windows of one model version, as a table

Both read ``monitor:`` in params.yaml (``monitor.log`` must be set). The logic is
:mod:`alien.monitoring`; this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ALIEN_METHOD = "alien"  # the calibrated u in the evaluate stage's per-row test scores


def _params(args: argparse.Namespace) -> Any:
    from alien.config.params import load_params

    return load_params(args.params)


def _log_location(params: Any) -> str:
    """``monitor.log``: the log's folder or its ``postgresql://`` URL (a Path would mangle the URL)."""
    if params.monitor.log is None:
        raise ValueError(
            "monitor.log is null in params.yaml: set it to a folder (or a postgresql:// URL) to turn "
            "the prediction log on"
        )
    return str(params.monitor.log)


def log_predictions(
    monitor: Any, texts: Sequence[str], rows: Sequence[dict[str, Any]], *, model_name: str, version: str
) -> list[str] | None:
    """Append ``alien predict``'s rows (the served columns) to the prediction log; their request ids,
    or None when ``monitor.log`` is off."""
    if monitor.log is None:
        return None
    import pandas as pd

    from alien.monitoring.log import rows_from_frame
    from alien.monitoring.stores import open_log

    entries = rows_from_frame(pd.DataFrame(list(rows)), texts, model_name=model_name, model_version=version)
    with open_log(str(monitor.log), log_text=monitor.log_text) as log:
        return log.append(entries)


def label_names(params: Any) -> list[str]:
    """The model's label set: the deployable's, else the prepared data's."""
    deployable = Path(params.paths.deployable)
    if (deployable / "alien.json").is_file():
        from alien.stages.artifacts import deployable_label_names

        return deployable_label_names(deployable)
    from alien.data.io import read_labels

    return read_labels(params.paths.prepared)


def cmd_feedback(args: argparse.Namespace) -> int:
    from alien.monitoring.labels_file import (
        append_to_source,
        check_file_source,
        labelled_texts,
        read_label_file,
    )
    from alien.monitoring.location import redact_url
    from alien.monitoring.stores import open_log

    params = _params(args)
    location = _log_location(params)
    labels = read_label_file(args.labels)
    source = rows = None
    if args.append_to_source:  # every check before anything is written
        data = params.data
        source = check_file_source(data.source, columns=(data.text_column, data.label_column))
    with open_log(location) as log:
        if args.append_to_source:
            rows = labelled_texts(log.read(), labels)
        written = log.attach_labels(labels, label_names=label_names(params))
    print(f"attached {written} label(s) to the prediction log {redact_url(location)}")
    if source is not None and rows is not None:
        n = append_to_source(source, rows, text_column=data.text_column, label_column=data.label_column)
        print(f"appended {n} labelled row(s) to {source}; the next retrain versions them (dvc)")
    return 0


def load_reference(params: Any, version: str | None) -> Any:
    """The champion's test split: ``u`` and errors from ``paths.scores`` (the last evaluate), and the
    features the head reads (:func:`feature_reference`), each if it is there."""
    from dataclasses import replace

    from alien.monitoring.session import Reference

    features = feature_reference(params)
    scores = Path(params.paths.scores)
    if not scores.is_file():
        return Reference(source=f"none ({scores} not found: run the pipeline)", **features)
    from alien.stages.artifacts import TestScores

    test = TestScores.load(scores)
    source = f"{scores} ({len(test.errors)} test rows"
    registration = Path(params.paths.registration)
    if registration.is_file():
        registered = str(json.loads(registration.read_text()).get("version"))
        if version is not None and registered != str(version):
            source += f"; of version {registered}, not {version}"
    reference = Reference.from_test_scores(test.method(ALIEN_METHOD), test.errors, source=source + ")")
    return replace(reference, **features)


def feature_reference(params: Any) -> dict[str, Any]:
    """:func:`alien.serving.features.feature_reference` for ``paths.deployable`` and the test split's
    features (``<paths.features>/test.safetensors``)."""
    from alien.serving.features import feature_reference as reference_of
    from alien.stages.artifacts import feature_path

    return reference_of(Path(params.paths.deployable), feature_path(params.paths, "test"))


def policy(params: Any) -> Any:
    """``monitor.retrain_when`` as a :class:`alien.monitoring.RetrainPolicy`."""
    from dataclasses import asdict

    from alien.monitoring import RetrainPolicy

    return RetrainPolicy(**asdict(params.monitor.retrain_when))


def monitor_outcome(params: Any, *, version: str | None, partial: bool, style: str) -> Any:
    """:func:`alien.monitoring.session.run_monitor` with the settings of ``params``."""
    from alien.monitoring.session import latest_version, run_monitor
    from alien.monitoring.stores import open_log

    location = _log_location(params)
    with open_log(location) as log:
        version = version if version is not None else latest_version(log.read())
    window = params.monitor.window
    return run_monitor(
        location,
        target_risk=params.calibration.target_risk,
        policy=policy(params),
        reference=load_reference(params, version),
        by=window.by,
        size=window.size,
        every=window.every,
        version=version,
        partial=partial,
        style=style,
    )


def cmd_monitor(args: argparse.Namespace) -> int:
    params = _params(args)
    outcome = monitor_outcome(params, version=args.version, partial=args.partial, style="text")
    if outcome.version is None:
        print(f"the prediction log {params.monitor.log} holds no rows yet")
        return 0
    print(f"model version {outcome.version}, windows of {_window_text(params)}")
    print(outcome.table)
    for trigger in outcome.triggers:
        print(f"would trigger a retrain: {trigger.name} on {trigger.window}: {trigger.reason}")
    for note in outcome.notes:
        print(f"note: {note}")
    return 0


def _window_text(params: Any) -> str:
    window = params.monitor.window
    return f"{window.size} rows" if window.by == "rows" else window.every


def add_commands(sub: Any) -> None:
    """Add ``feedback`` and ``monitor`` to the ``alien`` parser's subcommands."""
    feedback = sub.add_parser("feedback", help="attach late labels (CSV with columns id,label)")
    feedback.add_argument("labels", help="CSV file with the columns id (request id) and label")
    feedback.add_argument(
        "--append-to-source",
        action="store_true",
        help="also append the labelled rows to data.source (a .csv/.jsonl file; needs monitor.log_text)",
    )
    feedback.set_defaults(func=cmd_feedback)
    monitor = sub.add_parser("monitor", help="the prediction log's windows: estimated error, drift, labels")
    monitor.add_argument("--version", help="model version to monitor (default: the newest row's)")
    monitor.add_argument(
        "--partial", action="store_true", help="also show the trailing window that is not full yet"
    )
    monitor.set_defaults(func=cmd_monitor)
