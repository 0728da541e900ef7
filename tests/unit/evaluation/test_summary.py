from __future__ import annotations

import json

from alien.config import PathsConfig
from alien.evaluation.summary import render_run_summary

STAGES = [
    {"stage": "fetch", "skipped": False, "seconds": 1.0},
    {"stage": "align", "skipped": True, "seconds": 0.1},
]


def _paths(tmp_path):
    return PathsConfig(gate_report=str(tmp_path / "gate.json"), registration=str(tmp_path / "reg.json"))


def test_summary_shows_stages_data_version_report_and_champion(tmp_path):
    paths = _paths(tmp_path)
    (tmp_path / "gate.md").write_text("**Gate verdict: PASSED — promote**\n")
    (tmp_path / "reg.json").write_text(
        json.dumps(
            {
                "model_name": "m",
                "version": "4",
                "promoted": True,
                "champion_version": "4",
                "tracking_uri": "u",
            }
        )
    )
    text = render_run_summary(paths, stages=STAGES, data_version={"md5": "abc", "source": "dvc.lock"})
    assert "| align | skipped (unchanged) |" in text and "| fetch | yes |" in text
    assert "`abc` (dvc.lock)" in text
    assert "Gate verdict: PASSED" in text
    assert "version 4: promoted to @champion" in text and "`models:/m@champion` = version 4" in text


def test_summary_without_champion_says_so(tmp_path):
    paths = _paths(tmp_path)
    (tmp_path / "reg.json").write_text(
        json.dumps(
            {
                "model_name": "m",
                "version": "1",
                "promoted": False,
                "champion_version": None,
                "tracking_uri": "u",
            }
        )
    )
    text = render_run_summary(paths, stages=STAGES, data_version={"md5": "abc", "source": "file"})
    assert "registered as @challenger only" in text
    assert "Champion: none yet" in text
    assert "_no gate report_" in text
