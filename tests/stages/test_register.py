"""The register stage against a real sqlite MLflow store in ``tmp_path``: once per token, all or nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alien.config import RegistryConfig
from alien.stages import register
from alien.tracking import Registry, RegistryUnavailableError
from alien.tracking.names import JOURNAL_TAG
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    TEXTS,
    deployable,
    empty_store,
    md5,
    run_register,
    store,
    write_gate_report,
    write_workspace,
)

CFG = RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT, tracking_uri="sqlite:///unused.db")
V1 = {"version": "1", "roc_auc": 0.8, "ece": 0.05, "brier": 0.13, "accuracy": 0.86}


@pytest.fixture
def workspace(tmp_path: Path, deployable: Path, store: str, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    return write_workspace(tmp_path, deployable, passed=True)


def _registry() -> Registry:
    return Registry.from_config(CFG)


def _state() -> tuple[set[str], dict[str, str]]:
    registry = _registry()
    return {str(v.version) for v in registry.versions()}, registry.aliases()


def _new_data(paths, text: str) -> None:
    """Different raw data: a different data version, so a different registration token."""
    Path(paths.raw).write_text(json.dumps({"text": text, "label": "positive"}) + "\n")


def _fail(monkeypatch, method: str, *, when=lambda *args: True, times: int = 1) -> None:
    """Make the real ``MlflowClient.<method>`` raise (``times`` calls matching ``when``) — a registry fault."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    real, left = getattr(MlflowClient, method), [times]

    def faulty(self, *args, **kwargs):
        if left[0] > 0 and when(*args):
            left[0] -= 1
            raise MlflowException(f"injected fault in {method}")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MlflowClient, method, faulty)


def _headline(paths) -> str:
    """The outcome headline, from the one place the reason is recorded (``paths.registration``)."""
    from alien.evaluation.summary import outcome_headline

    return outcome_headline(json.loads(Path(paths.registration).read_text()))


def _card_status(version: str) -> str:
    card = _registry().model_version(version).description
    return card.split("**Registry status:** ", 1)[1].split("\n", 1)[0]


def _run_status(run_id: str) -> str:
    return _registry().client.get_run(run_id).info.status


def test_cli_registers_champion_then_failed_gate_only_challenger(workspace, capsys) -> None:
    assert register.main(["--params", "params.yaml"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["version"], first["promoted"], first["champion_version"]) == ("1", True, "1")
    assert first["previous_champion"] is None and first["reused"] is False
    assert json.loads(Path(workspace.registration).read_text())["run_id"] == first["run_id"]

    client = _registry().client
    run = client.get_run(first["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["alien.roc_auc"] == pytest.approx(0.81)
    assert run.data.metrics["entropy.ece"] == pytest.approx(0.063)
    assert run.data.metrics["align.best.val_auroc"] == pytest.approx(0.8)
    assert run.data.tags["data_version"] == md5(workspace.raw)
    assert run.data.tags["gate_passed"] == "true" and run.data.tags["promoted"] == "true"
    artifacts = {a.path for a in client.list_artifacts(first["run_id"])}
    assert {"gate_report.json", "metrics.json", "params.yaml", "plots", "model_card.md"} <= artifacts
    assert "gate_report.md" not in artifacts  # the gate writes no markdown twin
    assert run.data.tags["mlflow.runName"] == "trec · minilm · v1"
    assert run.data.params["registry.model_name"] == MODEL_NAME  # the params file, logged as the record
    v1 = client.get_model_version(MODEL_NAME, "1")
    assert "| auroc_vs_entropy |" in v1.description and "serving as champion" in v1.description
    assert (v1.tags["alien.roc_auc"], v1.tags["alien.labels"]) == ("0.8100", "negative,positive")
    assert "alien.pending" not in v1.tags

    _new_data(workspace, "another film")
    write_gate_report(workspace, passed=False, champion=V1)
    second = run_register(CFG, workspace).to_dict()
    assert (second["version"], second["promoted"], second["champion_version"]) == ("2", False, "1")
    assert second["reason"].startswith("gate failed")
    assert _state() == ({"1", "2"}, {"champion": "1", "challenger": "2"})
    v2 = client.get_model_version(MODEL_NAME, "2")
    assert "FAILED" in v2.description and v2.tags["gate_passed"] == "false"
    [event] = _registry().events()
    assert (event["action"], event["from"], event["to"]) == ("promote", None, "1")
    assert event["run_id"] == first["run_id"] and event["gate_report"].endswith("/gate_report.json")
    assert "@" in event["by"] and event["reason"].startswith("gate passed")


def test_the_same_model_and_data_are_never_registered_twice(workspace) -> None:
    first = run_register(CFG, workspace)
    write_gate_report(workspace, passed=True, champion=V1)  # an unchanged nightly run: the gate saw v1
    again = run_register(CFG, workspace)
    assert (again.version, again.run_id, again.reused, again.token) == ("1", first.run_id, True, first.token)
    assert not again.promoted and again.champion_version == "1" and "already registered" in again.reason
    assert _state() == ({"1"}, {"champion": "1", "challenger": "1"})
    assert [e["action"] for e in _registry().events()] == ["promote"]


def test_a_registered_challenger_is_promoted_when_its_gate_passes_later(workspace) -> None:
    run_register(CFG, workspace)
    _new_data(workspace, "another film")
    write_gate_report(workspace, passed=False, champion=V1)
    assert run_register(CFG, workspace).version == "2"
    write_gate_report(workspace, passed=True, champion=V1)  # gates loosened, same model and data
    Path(workspace.raw).write_text('{"text": "a fine film", "label": "positive"}\n')  # v1's data again
    write_gate_report(workspace, passed=True, champion=V1)
    assert (
        run_register(CFG, workspace).version == "1" and _state()[1]["challenger"] == "1"
    )  # latest candidate
    _new_data(workspace, "another film")
    write_gate_report(workspace, passed=True, champion=V1)
    result = run_register(CFG, workspace)
    assert (result.version, result.reused, result.promoted, result.champion_version) == ("2", True, True, "2")
    # what the registry shows agrees with the verdict that acted: tag, listing, card, event
    reg = _registry()
    tags = dict(reg.model_version("2").tags)
    assert tags["gate_passed"] == "true" and tags["alien.gate_report"].startswith(
        f"runs:/{result.run_id}/gate_reports/"
    )
    from mlflow import MlflowClient

    kept = MlflowClient().download_artifacts(result.run_id, tags["alien.gate_report"].split("/", 2)[2])
    assert json.loads(Path(kept).read_text())["passed"] is True
    assert next(r for r in reg.history() if r["version"] == "2")["gate_passed"] is True
    assert (
        "gate re-decided" in reg.model_version("2").description
        and "PASSED" in reg.model_version("2").description
    )
    promote = [e for e in reg.events() if e["action"] == "promote"][-1]
    assert promote["to"] == "2" and promote["gate_report"] == tags["alien.gate_report"]
    # an unchanged verdict writes nothing more
    run_register(CFG, workspace)
    assert dict(reg.model_version("2").tags)["alien.gate_report"] == tags["alien.gate_report"]


def test_stale_gate_report_does_not_promote(workspace) -> None:
    run_register(CFG, workspace)  # v1 champion; the gate report still says "no champion"
    _new_data(workspace, "another film")
    result = run_register(CFG, workspace)
    assert (result.promoted, result.champion_at_gate, result.champion_version) == (False, None, "1")
    assert "changed from none" in result.reason and "rerun the gate" in result.reason
    assert json.loads(Path(workspace.registration).read_text())["reason"] == result.reason
    assert _state()[1] == {"champion": "1", "challenger": "2"}


def test_failure_before_the_commit_leaves_the_previous_state(workspace, monkeypatch) -> None:
    run_register(CFG, workspace)
    before, registration = _state(), Path(workspace.registration).read_text()
    _new_data(workspace, "another film")
    write_gate_report(workspace, passed=True, champion=V1)
    _fail(monkeypatch, "set_registered_model_tag", when=lambda name, key, value: key == JOURNAL_TAG)
    with pytest.raises(Exception, match="injected fault"):
        run_register(CFG, workspace)
    assert _state() == before == ({"1"}, {"champion": "1", "challenger": "1"})
    assert Path(workspace.registration).read_text() == registration
    failed = _registry().client.search_runs(
        [_registry().client.get_experiment_by_name(EXPERIMENT).experiment_id]
    )
    assert sorted(r.info.status for r in failed) == ["FAILED", "FINISHED"]


def test_failure_during_the_commit_ends_in_the_full_new_state_and_the_retry_reuses_it(
    workspace, monkeypatch
) -> None:
    run_register(CFG, workspace)
    _new_data(workspace, "another film")
    write_gate_report(workspace, passed=True, champion=V1)
    # the champion move is the plan's last step: the worst moment
    _fail(monkeypatch, "set_registered_model_alias", when=lambda name, alias, version: alias == "champion")
    with pytest.raises(Exception, match="injected fault"):
        run_register(CFG, workspace)
    registry = _registry()
    assert _state() == ({"1", "2"}, {"champion": "2", "challenger": "2", "previous-champion": "1"})
    assert registry.pending_change() is None and registry.orphans() == []
    assert _run_status(registry.model_version("2").run_id) == "FAILED"
    retry = run_register(CFG, workspace)
    assert (retry.version, retry.reused, retry.promoted, retry.champion_version) == ("2", True, False, "2")
    assert json.loads(Path(workspace.registration).read_text())["version"] == "2"


def test_cleanup_failing_too_leaves_a_reported_orphan_that_the_next_run_deletes(
    workspace, monkeypatch
) -> None:
    run_register(CFG, workspace)
    _new_data(workspace, "another film")
    write_gate_report(workspace, passed=True, champion=V1)
    with monkeypatch.context() as faults:
        _fail(faults, "set_registered_model_tag", when=lambda name, key, value: key == JOURNAL_TAG, times=9)
        _fail(faults, "delete_model_version", times=9)
        with pytest.raises(Exception, match="injected fault") as caught:
            run_register(CFG, workspace)
    assert "next registration" in "".join(caught.value.__notes__)
    registry = _registry()
    assert [str(v.version) for v in registry.orphans()] == ["2"]
    assert registry.aliases() == {"champion": "1", "challenger": "1"}  # no alias on the orphan
    result = run_register(CFG, workspace)
    assert result.recovered == ["deleted orphaned pending version 2"]
    assert (result.version, result.promoted) == ("3", True)
    assert _state() == ({"1", "3"}, {"champion": "3", "challenger": "3", "previous-champion": "1"})


def test_a_pinned_champion_is_not_replaced_and_the_registration_says_so(workspace) -> None:
    run_register(CFG, workspace)
    _new_data(workspace, "second film")
    write_gate_report(workspace, passed=True, champion=V1)
    assert run_register(CFG, workspace).promoted
    with _registry().lock(timeout=5):
        assert _registry().rollback(reason="v2 misroutes refunds") == ("2", "1")
    _new_data(workspace, "third film")
    result = run_register(CFG, workspace)
    assert (result.promoted, result.pinned, result.champion_version) == (False, "1", "1")
    assert "pinned" in result.reason and "alien unpin" in result.reason
    headline = _headline(workspace)  # issue 17 item 4: the gate passed, yet nothing was promoted
    assert headline.startswith("registered as challenger (version 3) because champion v1 is pinned")
    assert headline.endswith("gate verdict: PASSED")
    assert _card_status("3").startswith(f"last registration: {headline} — now: aliases: @challenger")
    _registry().unpin(reason="fixed upstream")
    _new_data(workspace, "fourth film")
    after = run_register(CFG, workspace)
    assert (after.version, after.promoted, after.pinned) == ("4", True, None)


def test_experiment_mode_never_moves_production_aliases(workspace) -> None:
    experiment = RegistryConfig(**{**vars(CFG), "mode": "experiment"})
    result = run_register(experiment, workspace)
    assert (result.version, result.promoted, result.champion_version, result.mode) == (
        "1",
        False,
        None,
        "experiment",
    )
    registry = _registry()
    assert registry.aliases() == {}
    tags = registry.model_version("1").tags
    assert (tags["alien.mode"], tags["alien.eligible"]) == ("experiment", "false")
    assert [e["action"] for e in registry.events()] == ["experiment"]
    production = run_register(CFG, workspace)  # another token (mode is part of it)
    assert (production.version, production.promoted) == ("2", True)


def test_card_warns_when_the_label_set_differs_from_the_champions(workspace, deployable, tmp_path) -> None:  # noqa: F811
    from alien.core.model import AlienClassifier

    run_register(CFG, workspace)
    other = AlienClassifier.load(deployable)
    other.label_names = ["bad", "good"]
    paths = type(workspace)(**{**vars(workspace), "deployable": str(other.save(tmp_path / "relabelled"))})
    write_gate_report(paths, passed=True, champion=V1)
    run_register(CFG, paths)
    card = _registry().model_version("2").description
    assert "**Warning:** the label set (bad,good) differs from champion v1's (negative,positive)" in card


def test_registry_down_fails_fast_and_writes_nothing(workspace, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")  # the probe ignores it: no retries
    start = time.perf_counter()
    with pytest.raises(RegistryUnavailableError, match=r"http://127\.0\.0\.1:9"):
        run_register(CFG, workspace)
    assert time.perf_counter() - start < 5
    assert not Path(workspace.registration).exists()


@pytest.mark.parametrize(
    ("breakage", "error", "match"),
    [
        ("deployable", FileNotFoundError, "deployable model folder"),
        ("passed", ValueError, "passed=None"),
        ("status", ValueError, "status 'maybe'"),
    ],
)
def test_bad_inputs_raise_before_touching_the_registry(workspace, tmp_path, breakage, error, match) -> None:
    from mlflow import MlflowClient

    paths = workspace
    report = json.loads(Path(paths.gate_report).read_text())
    if breakage == "deployable":
        paths = type(paths)(**{**vars(paths), "deployable": str(tmp_path / "missing")})
    elif breakage == "passed":
        del report["passed"]
    else:
        report["gates"][0]["status"] = "maybe"
    Path(paths.gate_report).write_text(json.dumps(report))
    with pytest.raises(error, match=match):
        run_register(CFG, paths)
    client = MlflowClient()
    assert client.search_registered_models() == []
    assert client.get_experiment_by_name(EXPERIMENT) is None  # not even tracking was configured


def test_champion_pyfunc_and_load_champion_match_in_process_predictions(workspace, deployable) -> None:  # noqa: F811
    import mlflow

    from alien.core.model import AlienClassifier
    from alien.tracking.champion import load_champion

    assert load_champion(CFG) is None  # nothing registered yet
    run_register(CFG, workspace)
    expected = AlienClassifier.load(deployable).predict(TEXTS)
    assert np.ptp(expected.uncertainty) > 1e-3  # the comparison below can tell inputs apart

    served = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    out = served.predict(pd.DataFrame({"text": TEXTS}))
    np.testing.assert_allclose(out["uncertainty"].to_numpy(), expected.uncertainty, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(out["label_id"].to_numpy(), expected.labels)
    with pytest.raises(Exception, match="text"):
        served.predict(pd.DataFrame({"sentence": TEXTS}))

    loaded = load_champion(CFG)
    assert loaded is not None and loaded[0] == "1"
    np.testing.assert_allclose(loaded[1].predict(TEXTS).uncertainty, expected.uncertainty, rtol=0, atol=1e-6)


def test_the_nightly_run_after_a_rollback_keeps_it(workspace) -> None:
    run_register(CFG, workspace)
    _new_data(workspace, "second film")
    write_gate_report(workspace, passed=True, champion=V1)
    assert run_register(CFG, workspace).promoted  # v2
    with _registry().lock(timeout=5):
        _registry().rollback(reason="v2 is wrong")
    # the same model and data again, its gate passing against the restored v1
    nightly = run_register(CFG, workspace)
    assert (nightly.version, nightly.reused, nightly.promoted, nightly.champion_version) == (
        "2",
        True,
        False,
        "1",
    )
    assert "not eligible" in nightly.reason and "v2 is wrong" in nightly.reason
    assert _state() == ({"1", "2"}, {"champion": "1", "challenger": "2", "rolled-back": "2"})
    headline = _headline(workspace)  # issue 17 item 4: rolled back, so not promoted though the gate passed
    assert headline.startswith("not promoted (version 2) because this model and data are already registered")
    assert "not eligible for promotion" in headline and headline.endswith("gate verdict: PASSED")
    assert _card_status("2").startswith(f"last registration: {headline} — now: ")


def test_a_rerun_of_the_champion_says_already_registered_in_the_summary_card_and_file(workspace) -> None:
    from alien.evaluation.summary import render_run_summary

    assert run_register(CFG, workspace).promoted
    assert _headline(workspace) == "promoted: version 1 is @champion · gate verdict: PASSED"
    write_gate_report(workspace, passed=True, champion=V1)  # the gate, deciding again, compared it with v1
    again = run_register(CFG, workspace)
    assert (again.reused, again.promoted, again.unchanged) == (True, False, False)
    headline = _headline(workspace)
    assert headline.startswith("not promoted (version 1) because this model and data are already registered")
    assert _card_status("1").startswith(
        f"last registration: {headline} — now: aliases: @challenger, @champion"
    )
    state = {"champion": "1", "version": "1", "aliases": ["champion"], "tracking_uri": "sqlite:///x.db"}
    summary = render_run_summary(workspace, stages=[], data_version={}, registry=state, model_name=MODEL_NAME)
    assert summary.splitlines()[2] == f"**Registry: {headline}**"
    assert "Gate verdict: PASSED — eligible for promotion" in summary  # next to it, not instead of it


def _run_as(workspace, cfg: RegistryConfig, **keywords):
    from alien.config import BackboneConfig, DataConfig

    data, backbone = DataConfig(source="package:trec"), BackboneConfig(name="package:minilm")
    return register.run(cfg, data, backbone, workspace, root=Path.cwd(), **keywords)


def test_a_dvc_experiment_registers_under_its_name_and_never_promotes(workspace, tmp_path) -> None:
    # issue 17 item 1: `dvc exp run` sets DVC_EXP_NAME; the CLI passes it as `experiment=`
    result = _run_as(workspace, CFG, experiment="ritzy-oafs", registry_root=tmp_path)
    assert (result.promoted, result.mode, result.experiment, result.champion_version) == (
        False,
        "experiment",
        "ritzy-oafs",
        None,
    )
    registry = _registry()
    assert registry.aliases() == {}
    tags = registry.model_version(result.version).tags
    assert (tags["alien.dvc_experiment"], tags["alien.eligible"]) == ("ritzy-oafs", "false")
    assert registry.client.get_run(result.run_id).data.tags["alien.dvc_experiment"] == "ritzy-oafs"
    assert _headline(workspace).startswith("not promoted (version 1) because it ran as DVC experiment")


def test_cli_passes_what_dvc_set(workspace, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DVC_EXP_NAME", "tidy-exp")
    monkeypatch.setenv("DVC_ROOT", str(Path.cwd()))
    assert register.main(["--params", "params.yaml"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["experiment"], out["promoted"], out["mode"]) == ("tidy-exp", False, "experiment")
    assert _registry().aliases() == {}


def test_params_left_in_experiment_mode_are_reported_loudly(workspace, caplog) -> None:
    from alien.evaluation.summary import experiment_warning

    leftover = RegistryConfig(**{**vars(CFG), "mode": "experiment"})
    with caplog.at_level("WARNING", logger="alien.stages.register"):
        result = _run_as(workspace, leftover)
    assert any("not a `dvc exp run`" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert result.experiment is None and not result.promoted
    registration = json.loads(Path(workspace.registration).read_text())
    assert "registry.mode is 'experiment' in params.yaml" in _headline(workspace)
    assert (experiment_warning(registration) or "").startswith("WARNING: params.yaml has registry.mode")


def test_the_flow_context_reaches_the_run_and_the_card_and_no_uri_stays_changed(workspace) -> None:
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    from alien.tracking.run_context import FlowContext

    context = FlowContext({"fetch": 0.5, "finetune": 12.0}, "flow-7", "http://prefect/runs/flow-7")
    result = run_register(CFG, workspace, context=context)
    run = _registry().client.get_run(result.run_id)
    assert run.data.tags["prefect.flow_run_id"] == "flow-7"
    assert run.data.tags["prefect.flow_run_url"] == "http://prefect/runs/flow-7"
    assert (
        run.data.metrics["stage_seconds.finetune"] == 12.0 and run.data.metrics["stage_seconds.total"] == 12.5
    )
    card = _registry().model_version(result.version).description
    assert "[flow-7](http://prefect/runs/flow-7)" in card and "fetch 0.5, finetune 12.0" in card
    # the run went through this store's client and one scoped pointer: nothing process-wide is left set
    assert tracking_utils._tracking_uri is None and registry_utils._registry_uri is None


def _snapshot() -> dict[str, object]:
    """Everything a registration could write: versions and their tags, aliases, model tags, runs."""
    registry = _registry()
    experiment = registry.client.get_experiment_by_name(EXPERIMENT)
    runs = registry.client.search_runs([experiment.experiment_id]) if experiment else []
    return {
        "versions": {str(v.version): (dict(v.tags), v.description) for v in registry.versions()},
        "aliases": registry.aliases(),
        "model_tags": registry.model_tags(),
        "runs": sorted((r.info.run_id, r.info.status, tuple(sorted(r.data.tags.items()))) for r in runs),
    }


def test_an_unchanged_nightly_reports_unchanged_and_writes_nothing(workspace) -> None:
    assert run_register(CFG, workspace).promoted
    # a decision that promoted compared with the champion before it: the next one compares with v1
    assert not run_register(CFG, workspace).unchanged
    write_gate_report(workspace, passed=True, champion=V1)  # as the gate, deciding again, reports
    first = run_register(CFG, workspace)
    assert (first.unchanged, first.reused, first.promoted) == (False, True, False)
    before = _snapshot()
    Path(workspace.registration).unlink()  # `dvc repro` deletes the stage's output before it runs
    again = run_register(CFG, workspace)
    assert (again.unchanged, again.promoted, again.reused, again.version) == (True, False, True, "1")
    assert (again.run_id, again.token, again.champion_version) == (first.run_id, first.token, "1")
    assert again.reason.startswith("unchanged since the decision of ") and again.decided_at
    assert again.reason.endswith(": version 1 is the champion")
    assert _snapshot() == before  # no version, run, alias or tag written
    written = json.loads(Path(workspace.registration).read_text())
    assert written == again.to_dict() and written["unchanged"] is True
    headline = _headline(workspace)
    assert "unchanged since the decision of" in headline and "promoted:" not in headline


def test_a_changed_registry_section_or_verdict_decides_again(workspace) -> None:
    run_register(CFG, workspace)
    write_gate_report(workspace, passed=True, champion=V1)
    run_register(CFG, workspace)
    assert run_register(CFG, workspace).unchanged
    # the same model under registry.promote: false — the section changed, so register decides again
    no_promote = RegistryConfig(**{**vars(CFG), "promote": False})
    decided = run_register(no_promote, workspace)
    assert (decided.unchanged, decided.reused, decided.version) == (False, True, "1")
    assert run_register(no_promote, workspace).unchanged
    # another verdict on the same model (the gate decided again): decided again, and recorded
    write_gate_report(workspace, passed=False, champion=V1)
    failed = run_register(no_promote, workspace)
    assert (failed.unchanged, failed.gate_passed, failed.version) == (False, False, "1")
    assert _registry().model_version("1").tags["gate_passed"] == "false"
    assert _state() == ({"1"}, {"champion": "1", "challenger": "1"})


def test_a_rollback_between_two_nightly_runs_makes_register_decide_again(workspace) -> None:
    run_register(CFG, workspace)
    _new_data(workspace, "second film")
    write_gate_report(workspace, passed=True, champion=V1)
    assert run_register(CFG, workspace).promoted  # v2
    write_gate_report(workspace, passed=True, champion={**V1, "version": "2"})  # v2 against itself
    assert not run_register(CFG, workspace).unchanged
    assert run_register(CFG, workspace).unchanged
    with _registry().lock(timeout=5):
        _registry().rollback(reason="v2 is wrong")
    assert not run_register(CFG, workspace).unchanged  # the same inputs, but @champion moved back to v1
    write_gate_report(workspace, passed=True, champion=V1)  # the gate, deciding again, compares with v1
    nightly = run_register(CFG, workspace)
    assert (nightly.unchanged, nightly.reused, nightly.promoted, nightly.champion_version) == (
        False,
        True,
        False,
        "1",
    )
    assert "not eligible" in nightly.reason
    assert run_register(CFG, workspace).unchanged  # the registry is now as that decision left it
    with _registry().lock(timeout=5):
        _registry().unpin(reason="v1 is fine")
    assert not run_register(CFG, workspace).unchanged  # the pin was lifted in between
    assert _state()[0] == {"1", "2"}


def test_a_dvc_experiment_is_never_unchanged(workspace, tmp_path) -> None:
    first = _run_as(workspace, CFG, experiment="ritzy-oafs", registry_root=tmp_path)
    again = _run_as(workspace, CFG, experiment="ritzy-oafs", registry_root=tmp_path)
    assert not again.unchanged and again.version == first.version  # registered once, decided each time
