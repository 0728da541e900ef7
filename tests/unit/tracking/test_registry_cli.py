"""``alien champion / rollback / unpin / predict`` on a real sqlite store: one test per lifecycle rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from alien.config import RegistryConfig
from alien.tracking import Registry
from flows.cli import main as cli
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    TEXTS,
    deployable,
    empty_store,
    run_register,
    store,
    write_gate_report,
    write_workspace,
)

CFG = RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT)


@pytest.fixture
def two_versions(tmp_path: Path, deployable: Path, store: str, monkeypatch):  # noqa: F811
    """v1 promoted, then v2 (new data) promoted over it: champion v2, previous v1."""
    monkeypatch.chdir(tmp_path)
    paths = write_workspace(tmp_path, deployable, passed=True)
    assert run_register(CFG, paths).promoted
    Path(paths.raw).write_text('{"text": "more data", "label": "negative"}\n')
    write_gate_report(
        paths,
        passed=True,
        champion={"version": "1", "roc_auc": 0.8, "ece": 0.05, "brier": 0.13, "accuracy": 0.8},
    )
    assert run_register(CFG, paths).version == "2"
    return paths


def test_champion_prints_a_table_and_json_with_the_columns_a_reviewer_needs(two_versions, capsys) -> None:
    assert cli(["champion"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("version"))
    assert header.split() == [
        "version",
        "aliases",
        "dataset",
        "labels",
        "gate",
        "ROC-AUC",
        "ECE",
        "when",
        "state",
    ]
    row = next(line for line in out.splitlines() if line.startswith("2 "))
    assert "champion" in row and "negative,positive" in row and "pass" in row and "0.8100" in row
    assert "champion: v2" in out
    assert cli(["champion", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["champion"], data["orphans"], data["pinned"]) == ("2", [], None)
    assert [(v["version"], v["aliases"], v["ece"]) for v in data["versions"]] == [
        ("1", ["previous-champion"], "0.0410"),
        ("2", ["challenger", "champion"], "0.0410"),
    ]


def test_champion_on_a_mistyped_sqlite_path_refuses_and_creates_nothing(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    typo = tmp_path / "mlflw.db"
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {**_params(), "registry": {**_params()["registry"], "tracking_uri": f"sqlite:///{typo}"}}
        )
    )
    assert cli(["--params", str(params), "champion"]) == 2
    assert "no MLflow database at" in capsys.readouterr().err
    assert not typo.exists()


def _params() -> dict:
    return yaml.safe_load((Path(__file__).resolve().parents[3] / "params.yaml").read_text())


def test_rollback_needs_a_reason_records_it_pins_and_the_history_shows_it(
    two_versions, capsys, monkeypatch
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli(["rollback"])
    assert caught.value.code == 2 and "--reason" in capsys.readouterr().err
    monkeypatch.setenv("ALIEN_ACTOR", "oncall@example")
    assert cli(["rollback", "--reason", "v2 mislabels refunds"]) == 0
    assert "version 2 -> version 1" in capsys.readouterr().out
    registry = Registry.from_config(CFG)
    assert registry.aliases()["champion"] == "1" and registry.pin()["reason"] == "v2 mislabels refunds"
    assert "not eligible for promotion" in registry.model_version("2").description
    assert registry.client.get_run(registry.model_version("2").run_id).data.tags["promoted"] == "false"
    assert cli(["champion"]) == 0
    assert "pinned: v1" in capsys.readouterr().out
    assert cli(["champion", "--history"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert last[1:5] == ["rollback", "2", "1", "oncall@example"] and "refunds" in last[-1]


def test_unpin_releases_the_pin_and_says_so(two_versions, capsys) -> None:
    assert cli(["rollback", "--reason", "bad"]) == 0
    assert cli(["unpin", "--reason", "fixed"]) == 0
    assert "champion v1 unpinned" in capsys.readouterr().out
    assert Registry.from_config(CFG).pin() is None
    assert cli(["unpin", "--reason", "again"]) == 2  # nothing pinned: a clear error
    assert "not pinned" in capsys.readouterr().err


def test_predict_with_an_alias_or_a_version(two_versions, deployable, tmp_path, capsys) -> None:  # noqa: F811
    from alien.core.model import AlienClassifier

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n")
    expected = AlienClassifier.load(deployable).predict(TEXTS).uncertainty
    for args, version in ((["--alias", "previous-champion"], "1"), (["--version", "2"], "2"), ([], "2")):
        assert cli(["predict", str(texts), *args]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert {r["model_version"] for r in rows} == {version}
        np.testing.assert_allclose([r["uncertainty"] for r in rows], expected, atol=1e-5)
    assert cli(["predict", str(texts), "--alias", "nope"]) == 2
    assert "has no @nope" in capsys.readouterr().err


@pytest.fixture(scope="module")
def calibrated_deployable(deployable: Path, tmp_path_factory) -> Path:  # noqa: F811
    """The tiny deployable with a calibration map and a rule that abstains on some inputs."""
    from alien.calibration import make_calibrator
    from alien.core.abstention import AbstentionRule
    from alien.core.model import AlienClassifier

    clf = AlienClassifier.load(deployable)
    raw = clf.predict(TEXTS * 3).raw_uncertainty
    g = make_calibrator("platt").fit(raw, (np.arange(len(raw)) % 2 == 0).astype(int))
    cut = float(np.median(g(raw[: len(TEXTS)])))
    calibrated = AlienClassifier(
        clf.model, clf.tokenizer, clf.head, label_names=clf.label_names, max_length=32,
        calibrator=g, abstention=AbstentionRule(cut, 0.1, 0.1, len(raw), 0.5, "validation"),
    )  # fmt: skip
    return calibrated.save(tmp_path_factory.mktemp("calibrated") / "deployable")


def test_abstain_is_identical_in_process_in_the_pyfunc_and_in_the_cli(
    tmp_path,
    calibrated_deployable,
    store,  # noqa: F811
    monkeypatch,
    capsys,
) -> None:
    import mlflow
    import pandas as pd

    from alien.core.model import AlienClassifier

    monkeypatch.chdir(tmp_path)
    paths = write_workspace(tmp_path, calibrated_deployable, passed=True)
    assert run_register(CFG, paths).promoted
    direct = AlienClassifier.load(calibrated_deployable).predict(TEXTS)
    assert direct.abstain.any() and not direct.abstain.all()  # the test means something

    served = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion").predict(pd.DataFrame({"text": TEXTS}))
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n")
    assert cli(["predict", str(texts)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    np.testing.assert_array_equal(served["abstain"].to_numpy(bool), direct.abstain)
    np.testing.assert_array_equal([r["abstain"] for r in rows], direct.abstain)
    for got in (served["uncertainty"].to_numpy(float), [r["uncertainty"] for r in rows]):
        np.testing.assert_allclose(got, direct.uncertainty, atol=1e-6)
    np.testing.assert_allclose([r["raw_uncertainty"] for r in rows], direct.raw_uncertainty, atol=1e-6)


def test_commands_work_from_a_subfolder_and_with_project(two_versions, tmp_path, monkeypatch, capsys) -> None:
    sub = tmp_path / "reports" / "deeper"
    sub.mkdir(parents=True)
    (sub / "texts.txt").write_text("\n".join(TEXTS) + "\n")
    monkeypatch.chdir(sub)
    assert cli(["champion", "--json"]) == 0  # the project's params.yaml names the model
    captured = capsys.readouterr()
    assert json.loads(captured.out)["model"] == MODEL_NAME and f"project: {tmp_path}" in captured.err
    assert cli(["predict", "texts.txt"]) == 0  # the input stays relative to where the user is
    assert len(capsys.readouterr().out.splitlines()) == len(TEXTS)
    assert Path.cwd() == sub  # the working directory is given back

    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli(["--project", str(tmp_path), "champion", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == MODEL_NAME
    assert cli(["--project", str(elsewhere), "champion"]) == 2
    assert "no params.yaml in" in capsys.readouterr().err
