"""Stage ``register``: log the pipeline run to MLflow and register the deployable model, once.

Order of work (``docs/registry.md`` has the reasoning):

1. validate every input (deployable folder, metrics, gate report, raw data) and
   derive the registration *token* from them — nothing is touched before this passes;
2. configure tracking (one fast probe; the only place that creates an experiment);
3. under the registry lock, repair what an interrupted run left (:meth:`Registry.recover`)
   and reuse the version registered with the same token, if any (never twice);
4. otherwise one MLflow run (params, metrics, lineage, artifacts, pyfunc model, card),
   then :meth:`Registry.register_version`: a pending version, then one commit moving
   ``challenger`` and — gate passed, champion unchanged since the gate (compare-and-set),
   not pinned, production mode — ``champion``;
5. write ``paths.registration`` from the live registry, still under the lock.

A failure ends the MLflow run FAILED; the registry keeps its previous state or the
full new one (an interrupted commit is finished by the next run).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alien.config import PathsConfig, RegistryConfig
from alien.data.io import read_json, write_json
from alien.stages._cli import StageResult, stage_cli
from alien.tracking.lock import RegistryBusyError
from alien.tracking.setup import RegistryUnavailableError, configure_tracking

log = logging.getLogger(__name__)
GATE_STATUSES = ("pass", "fail", "no champion")
_DESCRIPTION_LIMIT = 4500  # MLflow's SQL column holds 5000; the status block needs room
LOCK_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class RegisterResult(StageResult):
    """What ``register`` did, read back from the live registry.

    ``previous_champion`` is the champion before this run; ``champion_version`` the
    champion after it (they differ only when ``promoted``); ``champion_at_gate`` the
    one the gate compared with. ``reused``: an earlier attempt with the same
    ``token`` had registered ``version``. ``recovered``: what this run repaired first.
    """

    run_id: str | None
    model_name: str
    version: str
    promoted: bool
    champion_version: str | None
    previous_champion: str | None
    tracking_uri: str
    gate_passed: bool
    reason: str
    champion_at_gate: str | None = None
    mode: str = "production"
    token: str = ""
    reused: bool = False
    pinned: str | None = None
    recovered: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Inputs:
    deployable: Path
    metrics: dict[str, Any]
    gate_report: dict[str, Any]
    params: dict[str, Any]
    data_version: dict[str, str]


def validate_gate_report(report: Mapping[str, Any], *, where: str = "gate report") -> None:
    """Check the gate report's schema.

    Raises:
        ValueError: ``passed`` is not a boolean, ``gates`` is not a list of
            ``{name, status}`` with a status in :data:`GATE_STATUSES`, or
            ``champion`` is neither null nor an object.
    """
    if not isinstance(report.get("passed"), bool):
        raise ValueError(f"{where} must have a boolean 'passed', got {report.get('passed')!r}")
    gates = report.get("gates")
    if not isinstance(gates, list):
        raise ValueError(f"{where} must have a list 'gates', got {type(gates).__name__}")
    for i, gate in enumerate(gates):
        if not isinstance(gate, dict) or not isinstance(gate.get("name"), str):
            raise ValueError(f"{where} gates[{i}] must be an object with a string 'name', got {gate!r:.120}")
        if gate.get("status") not in GATE_STATUSES:
            raise ValueError(
                f"{where} gates[{i}] ({gate['name']}) has status {gate.get('status')!r}; "
                f"allowed: {list(GATE_STATUSES)}"
            )
    if report["passed"] and any(g["status"] == "fail" for g in gates):
        raise ValueError(
            f"{where} says passed but a gate failed; refusing to register an inconsistent report"
        )
    champion = report.get("champion")
    if champion is not None and not isinstance(champion, dict):
        raise ValueError(f"{where} 'champion' must be null or an object, got {champion!r:.120}")


def load_inputs(paths: PathsConfig, *, params_file: str | Path = "params.yaml") -> _Inputs:
    """Read and validate everything ``register`` needs, without touching MLflow.

    Raises:
        FileNotFoundError: the deployable folder, metrics, gate report or raw data is missing.
        ValueError: a file has the wrong content (the message names the file and the key).
    """
    from alien.core.deployable import CONFIG_FILE
    from alien.stages.artifacts import data_version

    deployable = Path(paths.deployable)
    if not (deployable / CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"deployable model folder {deployable} is missing or has no {CONFIG_FILE}; "
            "run the align stage first"
        )
    metrics = read_json(paths.metrics, what="metrics file")
    methods = metrics.get("methods")
    if not isinstance(methods, dict) or "alien" not in methods:
        raise ValueError(
            f"metrics file {paths.metrics} must have 'methods' with an 'alien' entry, "
            f"got methods={sorted(methods) if isinstance(methods, dict) else methods!r}"
        )
    gate_report = read_json(paths.gate_report, what="gate report")
    validate_gate_report(gate_report, where=f"gate report {paths.gate_report}")
    params_path = Path(params_file)
    params: dict[str, Any] = {}
    if params_path.is_file():
        params = yaml.safe_load(params_path.read_text(encoding="utf-8")) or {}
    else:
        log.warning("params file %s not found; the run will have no params", params_path)
    return _Inputs(deployable, metrics, gate_report, params, data_version(paths.raw, root="."))


def _champion_at_gate(gate_report: Mapping[str, Any]) -> str | None:
    compared = (gate_report.get("champion") or {}).get("version")
    return None if compared is None else str(compared)


def _card_description(card: str, run_id: str) -> str:
    if len(card) <= _DESCRIPTION_LIMIT:
        return card
    tail = f"\n\n… truncated; full card: runs:/{run_id}/model_card.md\n"
    return card[: _DESCRIPTION_LIMIT - len(tail)] + tail


def _decision(gate_report: Mapping[str, Any], cfg: RegistryConfig) -> tuple[bool, str]:
    if cfg.mode != "production":
        return False, "registry.mode is 'experiment': registered as an experiment version, no alias moved"
    if not gate_report["passed"]:
        return False, "gate failed: registered as challenger only"
    if not cfg.promote:
        return False, "registry.promote is false: registered as challenger only"
    return True, "gate passed: promoted to champion"


def _log_and_register(
    reg: Any, inputs: _Inputs, cfg: RegistryConfig, paths: PathsConfig, params_file: str | Path, token: str
) -> tuple[str, Any]:
    """One MLflow run (ended FAILED on any error) that logs everything and registers the version."""
    import mlflow

    from alien.core.deployable import read_metadata
    from alien.tracking.pyfunc import log_alien_model
    from alien.tracking.run_context import execution_name, log_run_context, name_run, review_card
    from alien.tracking.run_logging import lineage_tags, log_pipeline_run, version_tags

    lineage = lineage_tags(data_version=inputs.data_version, gate_passed=bool(inputs.gate_report["passed"]))
    tags = version_tags(
        lineage, metadata=read_metadata(inputs.deployable), metrics=inputs.metrics["methods"]["alien"],
        dataset=str((inputs.params.get("data") or {}).get("source", "")), gate_passed=bool(inputs.gate_report["passed"]),
    )  # fmt: skip
    grid, gate_md = Path(paths.grid), Path(paths.gate_report).with_suffix(".md")
    metadata, data = read_metadata(inputs.deployable), inputs.params.get("data") or {}
    run_id = mlflow.start_run(run_name=execution_name(inputs.params, None)).info.run_id
    try:
        log_pipeline_run(
            params=inputs.params, metrics=inputs.metrics, tags={**lineage, "alien.registration_token": token},
            stages={"align": read_json(grid, what="grid results")} if grid.is_file() else None,
            files=[paths.gate_report, gate_md, paths.metrics, params_file, "dvc.lock", grid],
            folders={"plots": paths.plots},
        )  # fmt: skip
        log_run_context(
            prepared=paths.prepared, backbone=paths.backbone, task=str(metadata.get("task", "")),
            dataset=str(data.get("source", "")), data_version=inputs.data_version,
        )  # fmt: skip
        info = log_alien_model(inputs.deployable)
        card = review_card(
            reg, run_id=run_id, plots=paths.plots, lineage=lineage, metadata=metadata,
            gate_report=inputs.gate_report, metrics=inputs.metrics, data_version=inputs.data_version,
            params=inputs.params, champion=inputs.gate_report.get("champion"),
            title=f"{cfg.model_name} — ALIEN classifier",
        )  # fmt: skip
        mlflow.log_text(card, "model_card.md")
        promote, reason = _decision(inputs.gate_report, cfg)
        gate_uri = f"runs:/{run_id}/{Path(paths.gate_report).name}"
        registration = reg.register_version(
            info.model_uri, token=token, run_id=run_id, model_id=info.model_id, tags=tags,
            description=_card_description(card, run_id), promote=promote,
            expected_champion=_champion_at_gate(inputs.gate_report), reason=reason,
            extra={"run_id": run_id, "gate_report": gate_uri, "mode": cfg.mode},
        )  # fmt: skip
        mlflow.set_tags(
            {
                "registered_version": registration.version,
                "promoted": str(registration.promotion.promoted).lower(),
            }
        )
        name_run(run_id, inputs.params, registration.version)
    except BaseException:
        _end_run("FAILED")
        raise
    _end_run("FINISHED")
    return run_id, registration


def _end_run(status: str) -> None:
    import mlflow

    try:
        mlflow.end_run(status)
    except Exception:  # the store is down: the next run's recovery ends it FAILED
        log.exception("could not mark the MLflow run %s", status)


def run(
    registry: RegistryConfig, paths: PathsConfig, *, params_file: str | Path = "params.yaml"
) -> RegisterResult:
    """Log the run and register the model once; promote it if the gate passed and nothing changed since.

    Args:
        registry: the ``registry`` section (model name, experiment, URI, promote, mode).
        paths: where the earlier stages wrote (deployable, metrics, plots, gate report, raw).
        params_file: ``params.yaml``, logged as flattened params and as an artifact.

    Returns:
        The :class:`RegisterResult` (also written to ``paths.registration``).

    Raises:
        FileNotFoundError, ValueError: an input is missing or malformed (nothing was logged).
        RegistryUnavailableError: the tracking store / registry cannot be reached.
        RegistryBusyError: another registration held the lock for :data:`LOCK_TIMEOUT_S`.
    """
    from mlflow import MlflowClient

    from alien.tracking.registration import find_registered, registration_token, reused
    from alien.tracking.registry import Registry

    inputs = load_inputs(paths, params_file=params_file)
    name = registry.model_name
    token = registration_token(inputs.deployable, inputs.data_version, model_name=name, mode=registry.mode)
    uri = configure_tracking(registry)
    reg = Registry(MlflowClient(tracking_uri=uri, registry_uri=uri), name, uri, registry.mode)
    with reg.lock(timeout=LOCK_TIMEOUT_S):
        recovery = reg.recover(token=token)
        found = find_registered(reg, token)
        if found is not None:
            promote, reason = _decision(inputs.gate_report, registry)
            run_id = found.run_id
            registration = reused(
                reg, found, promote=promote, expected_champion=_champion_at_gate(inputs.gate_report),
                reason=reason, gate_report=inputs.gate_report,
            )  # fmt: skip
        else:
            run_id, registration = _log_and_register(reg, inputs, registry, paths, params_file, token)
        pin = reg.pin()
        result = RegisterResult(
            run_id=run_id, model_name=name, version=registration.version,
            promoted=registration.promotion.promoted, champion_version=reg.champion(),
            previous_champion=registration.promotion.previous, tracking_uri=uri,
            gate_passed=bool(inputs.gate_report["passed"]), reason=registration.promotion.reason,
            champion_at_gate=_champion_at_gate(inputs.gate_report), mode=registry.mode, token=token,
            reused=registration.reused, pinned=None if pin is None else str(pin["version"]),
            recovered=_recovered(recovery),
        )  # fmt: skip
        write_json(paths.registration, result.to_dict())
    return result


def _recovered(recovery: Any) -> list[str]:
    notes = [f"finished an interrupted {recovery.finished!r} change"] if recovery.finished else []
    return notes + [f"deleted orphaned pending version {v}" for v in recovery.deleted]


# `python -m alien.stages.register`: exit 3 when the registry is down or busy (2 for bad input).
EXIT_CODES = {RegistryUnavailableError: (3, "registry unavailable"), RegistryBusyError: (3, "registry busy")}
main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main(None))
