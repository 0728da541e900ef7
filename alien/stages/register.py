"""Stage ``register``: log the pipeline run to MLflow and register the deployable model.

Order of work, chosen so a failure never leaves the registry half-changed:

1. validate every input (deployable folder, metrics, gate report, raw data) —
   nothing is touched before this passes;
2. configure tracking (fails fast with :class:`RegistryUnavailableError`);
3. one MLflow run: params, metrics, lineage tags, artifacts, the pyfunc model,
   the model card;
4. register a new version, its description (the model card), lineage tags and
   the ``challenger`` alias; if the gate passed (and ``registry.promote``) promote
   it to ``champion``;
5. write ``paths.registration``.

If step 4 or 5 fails, the new version is deleted and every alias restored (the
registered model itself is deleted if this run created it), so the registry is
exactly as before; the MLflow run stays, marked FAILED, for the post-mortem.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alien.config import PathsConfig, RegistryConfig
from alien.data.io import read_json, write_json
from alien.stages._cli import StageResult, stage_main
from alien.tracking.setup import RegistryUnavailableError, configure_tracking

log = logging.getLogger(__name__)
GATE_STATUSES = ("pass", "fail", "no champion")
_DESCRIPTION_LIMIT = 5000  # MLflow's SQL column size for a version description


@dataclass(frozen=True)
class RegisterResult(StageResult):
    """What ``register`` did.

    ``previous_champion`` is the champion before this run; ``champion_version``
    the champion after it (they differ only when ``promoted``).
    """

    run_id: str
    model_name: str
    version: str
    promoted: bool
    champion_version: str | None
    previous_champion: str | None
    tracking_uri: str
    gate_passed: bool
    reason: str


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
    from alien.core.model import CONFIG_FILE
    from alien.stages.versioning import data_version

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
    return _Inputs(deployable, metrics, gate_report, params, data_version(paths.raw))


def _promotion(
    gate_report: Mapping[str, Any], registry: RegistryConfig, champion: str | None
) -> tuple[bool, str]:
    """Whether to promote, and why (a stale gate report never promotes)."""
    if not gate_report["passed"]:
        return False, "gate failed: registered as challenger only"
    if not registry.promote:
        return False, "registry.promote is false: registered as challenger only"
    compared = (gate_report.get("champion") or {}).get("version")
    if (str(compared) if compared is not None else None) != champion:
        return False, (
            f"gate compared against champion {compared or 'none'} but the registry's champion is now "
            f"{champion or 'none'}: rerun the gate; registered as challenger only"
        )
    return True, "gate passed: promoted to champion"


def _card_description(card: str, run_id: str) -> str:
    if len(card) <= _DESCRIPTION_LIMIT:
        return card
    tail = f"\n\n… truncated; full card: runs:/{run_id}/model_card.md\n"
    return card[: _DESCRIPTION_LIMIT - len(tail)] + tail


def run(
    registry: RegistryConfig, paths: PathsConfig, *, params_file: str | Path = "params.yaml"
) -> RegisterResult:
    """Log the run, register the model, promote it if the gate passed.

    Args:
        registry: the ``registry`` section (model name, experiment, URI, promote).
        paths: where the earlier stages wrote (deployable, metrics, plots, gate report, raw).
        params_file: ``params.yaml``, logged as flattened params and as an artifact.

    Returns:
        The :class:`RegisterResult` (also written to ``paths.registration``).

    Raises:
        FileNotFoundError, ValueError: an input is missing or malformed (nothing was logged).
        RegistryUnavailableError: the tracking store / registry cannot be reached.
    """
    import mlflow

    from alien.evaluation.model_card import render_model_card
    from alien.tracking import registry as reg
    from alien.tracking.pyfunc import log_alien_model
    from alien.tracking.run_logging import lineage_tags, log_pipeline_run
    from alien.tracking.transaction import registry_transaction

    inputs = load_inputs(paths, params_file=params_file)
    uri = configure_tracking(registry)
    name = registry.model_name
    client = mlflow.MlflowClient()
    champion_before = reg.aliases_of(name, client=client).get(reg.CHAMPION)
    passed = bool(inputs.gate_report["passed"])
    promote, reason = _promotion(inputs.gate_report, registry, champion_before)
    tags = lineage_tags(data_version=inputs.data_version, gate_passed=passed)
    gate_md = Path(paths.gate_report).with_suffix(".md")
    grid = Path(paths.grid)

    with mlflow.start_run(run_name=f"{name}-register") as active:
        run_id = active.info.run_id
        stages = {"align": read_json(grid, what="grid results")} if grid.is_file() else None
        log_pipeline_run(
            params=inputs.params, metrics=inputs.metrics, tags=tags, stages=stages,
            files=[paths.gate_report, gate_md, paths.metrics, params_file, "dvc.lock", grid],
            folders={"plots": paths.plots},
        )  # fmt: skip
        info = log_alien_model(inputs.deployable)
        plots = Path(paths.plots)
        plot_uris = {p.name: f"runs:/{run_id}/plots/{p.name}" for p in sorted(plots.glob("*.png"))}
        card = render_model_card(
            inputs.gate_report, inputs.metrics, data_version=inputs.data_version, params=inputs.params,
            champion=inputs.gate_report.get("champion"), plot_uris=plot_uris,
            title=f"{name} — ALIEN classifier",
        )  # fmt: skip
        mlflow.log_text(card, "model_card.md")
        with registry_transaction(client, name):
            version = str(
                mlflow.register_model(info.model_uri, name, tags={**tags, "run_id": run_id}).version
            )
            client.update_model_version(name, version, description=_card_description(card, run_id))
            client.set_registered_model_alias(name, reg.CHALLENGER, version)
            if promote:
                reg.promote(name, version, client=client)
            result = RegisterResult(
                run_id=run_id, model_name=name, version=version, promoted=promote,
                champion_version=version if promote else champion_before, previous_champion=champion_before,
                tracking_uri=uri, gate_passed=passed, reason=reason,
            )  # fmt: skip
            mlflow.set_tags({"registered_version": version, "promoted": str(promote).lower()})
            write_json(paths.registration, result.to_dict())
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m alien.stages.register [--params params.yaml]``; exit 3 when the registry is down."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--params", default="params.yaml")
    params_file = parser.parse_known_args(argv)[0].params
    try:
        return stage_main("register", lambda p: run(p.registry, p.paths, params_file=params_file), argv)
    except RegistryUnavailableError as exc:
        print(f"register: registry unavailable: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
