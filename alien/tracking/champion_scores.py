"""The champion's per-row test scores, reused from its own MLflow run when the test rows are the same.

The gate compares the challenger with the champion on the current test split. Scoring the
champion means downloading its model and predicting every test row: seconds to minutes, on
every run in which the challenger changed but the data did not (a config edit, a reverted
parameter). The champion's run already holds those numbers: register logs the evaluation's
per-row scores (``scores.npz``: what the model serves, its calibrated ``u``, and its errors)
and tags the run with the digest of the test rows they were computed on
(:func:`test_rows_digest`: the test split and the label names, byte for byte). When the
current test rows have that digest, the gate reads the champion's row scores from the run
instead of predicting them again; otherwise it scores the champion as before.

Served ``u`` from text equals the head's ``u`` on cached features within 1e-6
(tests/stages/test_align_layers.py, tests/unit/core), so both ways give the same verdict.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from alien.tracking.names import TAG_TEST_SCORES
from alien.tracking.store import Store

TEST_FILES = ("test.jsonl", "labels.json")  # what the rows and their label ids are, in <prepared>/


def test_rows_digest(prepared: str | Path) -> str:
    """sha256 of the prepared test split and its label names (the rows a model is scored on)."""
    digest = hashlib.sha256()
    for name in TEST_FILES:
        path = Path(prepared) / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


def test_scores_tag(scores_file: str | Path, prepared: str | Path) -> dict[str, str]:
    """The run tag register sets next to the logged ``scores_file`` (artifact root, its own name)."""
    value = {"artifact": Path(scores_file).name, "test_rows": test_rows_digest(prepared)}
    return {TAG_TEST_SCORES: json.dumps(value, sort_keys=True)}


def logged_test_scores(store: Store, version: str, prepared: str | Path, dst: str | Path) -> Path | None:
    """``version``'s logged per-row test scores, downloaded into ``dst``, if they were computed on
    the test rows now in ``prepared``; ``None`` otherwise (an older version, other rows, no file)."""
    run_id = store.model_version(version).run_id
    if not run_id:
        return None
    raw = store.client.get_run(run_id).data.tags.get(TAG_TEST_SCORES)
    try:
        tag = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return None
    if not isinstance(tag, dict) or tag.get("test_rows") != test_rows_digest(prepared):
        return None
    artifact = str(tag.get("artifact", ""))
    if not artifact or "/" in artifact or artifact.startswith("."):
        return None
    from mlflow.exceptions import MlflowException

    try:
        return Path(store.client.download_artifacts(run_id, artifact, str(dst)))
    except (MlflowException, OSError):  # tagged but not logged (an interrupted run): predict instead
        return None
