"""The align stage's options of issue 18: distance inputs and the calibration map chosen per model.

One tiny project runs fetch → … → evaluate with ``align.distance_inputs`` set and
``calibration.method: auto``; the tests check what align left behind: the head keeps its
distances across save/load (identical ``u``), the choice of map is recorded with every
candidate's cross-validated score, the served model's output columns are those of the plain
head, and no test row reaches the head, the distances, the map or the threshold.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from alien.config import load_params
from alien.core.calibrate import AUTO_CANDIDATES
from alien.core.model import AlienClassifier
from alien.pipeline.table import stage_runner
from alien.stages.artifacts import load_split_features
from alien.tracking.pyfunc_io import MODEL_VERSION_COLUMN, OUTPUT_COLUMNS, predictions_frame
from tests.project import align_without_test_features, make_tiny_project

STAGES = ("fetch", "prepare", "finetune", "features", "align", "evaluate")
INPUTS = ["mahalanobis", "relative_mahalanobis"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_tiny_project(
        tmp_path_factory.mktemp("variants") / "project",
        dvc=False,
        overrides={"align": {"distance_inputs": INPUTS}, "calibration": {"method": "auto"}},
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        params = load_params("params.yaml")
        for name in STAGES:
            stage_runner(name)(params, root=root)
        yield root, params


def test_the_head_keeps_its_distances_across_save_and_load(project):
    root, params = project
    loaded = AlienClassifier.load(root / params.paths.deployable)
    assert loaded.head.temperature is not None
    assert list(loaded.head.temperature.inputs) == INPUTS
    meta = json.loads((root / params.paths.deployable / "alien.json").read_text())
    assert meta["distance"]["inputs"] == INPUTS
    test = load_split_features(params.paths, "test")
    again = AlienClassifier.load(root / params.paths.deployable)
    with torch.inference_mode():
        first, second = loaded.head(test.features), again.head(test.features)
    assert torch.equal(first, second)


def test_the_served_frame_has_the_plain_heads_columns(project):
    root, params = project
    clf = AlienClassifier.load(root / params.paths.deployable)
    frame = predictions_frame(clf, ["a good film", "a dull film"])
    assert list(frame.columns) == [*OUTPUT_COLUMNS, MODEL_VERSION_COLUMN]
    assert np.all((frame["uncertainty"] >= 0) & (frame["uncertainty"] <= 1))


def test_the_calibration_choice_is_recorded_with_every_candidate(project):
    root, params = project
    fitted = json.loads((root / params.paths.grid).read_text())["calibration"]
    assert fitted["method"] == "auto"
    assert fitted["chosen"] in AUTO_CANDIDATES
    assert set(fitted["cv_brier"]) == set(AUTO_CANDIDATES)
    assert fitted["cv_brier"][fitted["chosen"]] == min(fitted["cv_brier"].values())
    saved = json.loads((root / params.paths.deployable / "calibration.json").read_text())
    served = "none" if saved.get("calibrator") is None else saved["calibrator"]["name"]
    assert served == fitted["chosen"]


def test_no_test_row_reaches_the_distances_the_head_or_the_map(project, monkeypatch):
    """Align again with the test features unreadable: the same head, distances, map and rule."""
    root, params = project
    run = align_without_test_features(root, params, monkeypatch)
    asked, before, after = run["asked"], run["before"], run["after"]
    assert "test" not in asked and {"train", "validation"} <= set(asked)
    assert after.keys() == before.keys()
    assert all(after[name] == before[name] for name in before if name != "alien.json")
