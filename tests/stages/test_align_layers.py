"""The align stage with ``align.layers`` (issue 18, a): earlier layers' states as head input.

One tiny project runs fetch → … → evaluate with ``align.layers: [-2]``; the tests check that the
features stage stored the layer for every split, that the served model computes the same ``u``
from text as the head does from the cached features (training and serving see the same input),
that no test row reaches the head, its standardisation, the map or the threshold, and that a
layer the backbone does not have is refused before any forward pass.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from alien.config import load_params
from alien.core.layers import head_inputs
from alien.core.model import AlienClassifier
from alien.data.io import read_split
from alien.pipeline.table import stage_runner
from alien.stages.artifacts import load_split_features
from tests.project import align_without_test_features, make_tiny_project

STAGES = ("fetch", "prepare", "finetune", "features", "align", "evaluate")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_tiny_project(
        tmp_path_factory.mktemp("layers") / "project", dvc=False, overrides={"align": {"layers": [-2]}}
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        params = load_params("params.yaml")
        for name in STAGES:
            stage_runner(name)(params, root=root)
        yield root, params


def test_every_split_keeps_the_layer(project):
    _root, params = project
    for split in ("train", "validation", "alignment", "test"):
        fs = load_split_features(params.paths, split)
        assert fs.layer_ids == (-2,) and fs.layers is not None
        assert fs.layers.shape == fs.features.shape  # tiny BERT: the pooled state and z are both 32 wide


def test_serving_computes_the_u_the_head_gives_on_the_cached_features(project):
    root, params = project
    clf = AlienClassifier.load(root / params.paths.deployable)
    meta = json.loads((root / params.paths.deployable / "alien.json").read_text())
    assert meta["layers"]["layers"] == [-2]
    test = load_split_features(params.paths, "test")
    texts = [row["text"] for row in read_split(params.paths.prepared, "test")]
    with torch.inference_mode():
        cached = clf.head(head_inputs(clf.head, test)).double().numpy()
    served = clf.predict(texts, batch_size=7)
    assert np.abs(np.asarray(served.raw_uncertainty) - cached).max() <= 1e-6


def test_no_test_row_reaches_the_head_or_the_map(project, monkeypatch):
    """Align again with the test features unreadable: the same head, standardisation, map and rule."""
    root, params = project
    run = align_without_test_features(root, params, monkeypatch)
    asked, before, after = run["asked"], run["before"], run["after"]
    assert "test" not in asked
    assert after.keys() == before.keys()
    assert all(after[name] == before[name] for name in before if name != "alien.json")


def test_a_layer_the_backbone_lacks_is_refused_before_any_forward(project, monkeypatch):
    from alien.stages import features

    root, params = project
    monkeypatch.setattr(features, "extract_features", lambda *a, **k: pytest.fail("a forward pass ran"))
    deep = dataclasses.replace(params, align=dataclasses.replace(params.align, layers=(-3,)))
    with pytest.raises(ValueError, match=r"layers \[-3\] do not exist: the backbone has 2 layers"):
        stage_runner("features")(deep, root=root)
    assert load_split_features(params.paths, "test").layer_ids == (-2,), "nothing already saved is lost"
