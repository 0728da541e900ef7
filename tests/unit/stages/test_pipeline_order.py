"""The stage table that the Prefect tasks use agrees with dvc.yaml."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from alien.config import Params, load_params
from alien.stages.pipeline import _ARGS, ORDER, stage_runner

ROOT = Path(__file__).resolve().parents[3]


def test_order_matches_dvc_yaml():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert list(stages) == list(ORDER)


@pytest.mark.parametrize("stage", ORDER)
def test_each_stage_gets_exactly_the_sections_dvc_tracks(stage):
    params = load_params(ROOT / "params.yaml")
    passed = {
        f.name for f in fields(Params) if any(a is getattr(params, f.name) for a in _ARGS[stage](params))
    }
    declared = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["params"]
    assert passed - {"paths"} == {entry.split(".")[0] for entry in declared}


def test_unknown_stage_lists_the_stages():
    with pytest.raises(ValueError, match="stages are"):
        stage_runner("train")
