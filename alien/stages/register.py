"""Stage ``register``: log the pipeline run to MLflow and register the deployable model, once.

Order of work (``docs/registry.md`` has the reasoning):

1. validate every input (deployable folder, metrics, gate report, raw data — each through
   its hand-off reader in :mod:`alien.stages.artifacts`) and derive the registration
   *token* from them — nothing is touched before this passes;
2. configure tracking (one fast probe; the only place that creates an experiment);
3. if the last decision on this token, gate report and ``registry`` section still holds
   (:mod:`alien.tracking.decision`: the registry is as it left it), write its result as
   ``unchanged`` and stop: nothing is written to the registry (not under ``dvc exp run``);
4. under the registry lock, repair what an interrupted run left (:meth:`Registry.recover`)
   and reuse the version registered with the same token, if any (never twice);
5. otherwise one MLflow run (params, metrics, lineage, artifacts, pyfunc model, card),
   then :func:`alien.tracking.registration.register_version`: a pending version, then one commit moving
   ``challenger`` and — gate passed, champion unchanged since the gate (compare-and-set),
   not pinned, production mode — ``champion``;
6. record the decision on the version (the last write) and write ``paths.registration``
   from the live registry, still under the lock.

A failure ends the MLflow run FAILED; the registry keeps its previous state or the
full new one (an interrupted commit is finished by the next run).

Its inputs are declared: the ``registry`` section, ``data.source`` and ``backbone.name`` (what the run
and the version are named after), the project ``root``, and the flow's
:class:`~alien.tracking.run_context.FlowContext` when a flow runs it. The params file is logged as it
is, as the run's record; nothing is read from it. Under ``dvc exp run`` its command line
(:func:`cli_keywords`) passes what DVC set: the experiment's name (``experiment``: never promoted, see
:mod:`alien.tracking.outcome`) and the repository root (``registry_root``: a relative registry URI means
the user's registry even in a ``--temp`` executor's folder).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alien.config.backbone import BackboneConfig
from alien.config.data import DataConfig
from alien.config.paths import PathsConfig
from alien.config.registry import RegistryConfig
from alien.data.io import write_json
from alien.evaluation.summary import outcome_headline
from alien.pipeline.cli import StageResult, stage_cli
from alien.pipeline.dvc_env import dvc_experiment, dvc_root
from alien.stages.artifacts import RegisterInputs, read_register_inputs
from alien.tracking.decision import decided_on, last_decision, unchanged_registration
from alien.tracking.decision import record as record_decision
from alien.tracking.execution import Decision, Execution, log_and_register
from alien.tracking.lock import RegistryBusyError
from alien.tracking.outcome import decision, effective_registry, leftover_experiment_warning, record_outcome
from alien.tracking.registry import Registry
from alien.tracking.run_context import FlowContext
from alien.tracking.setup import RegistryUnavailableError, Tracking, configure_tracking, run_environment

if TYPE_CHECKING:
    from alien.tracking.recovery import Recovery
    from alien.tracking.registration import Registration

LOCK_TIMEOUT_S = 600.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisterResult(StageResult):
    """What ``register`` did, read back from the live registry.

    ``previous_champion`` is the champion before this run; ``champion_version`` the
    champion after it (they differ only when ``promoted``); ``champion_at_gate`` the
    one the gate compared with. ``reused``: an earlier attempt with the same
    ``token`` had registered ``version``. ``recovered``: what this run repaired first.
    ``experiment``: the ``dvc exp run`` it ran as (never promoted).
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
    experiment: str | None = None
    unchanged: bool = False  # the last decision on this model, report and registry state still held
    decided_at: str | None = None  # when that decision was made (``unchanged`` only)


def _pipeline_outputs(paths: PathsConfig) -> tuple[str, ...]:
    """What the pipeline writes (the stage table's outputs): a run changes them by running."""
    from alien.pipeline.table import STAGES

    return tuple(getattr(paths, o.key) + o.suffix for s in STAGES for o in (*s.outs, *s.metrics, *s.plots))


def _execution(
    inputs: RegisterInputs,
    token: str,
    paths: PathsConfig,
    *,
    root: Path,
    params_file: Path,
    names: tuple[str, str],
    context: FlowContext | None,
) -> Execution:
    return Execution(
        token=token,
        deployable=inputs.deployable,
        metrics=inputs.metrics,
        gate_report=inputs.gate_report.to_dict(),
        gate_report_file=root / paths.gate_report,
        data_version=inputs.data_version,
        dataset=names[0],
        backbone=names[1],
        root=root,
        params_file=params_file,
        prepared=root / paths.prepared,
        plots=root / paths.plots,
        files=(root / paths.metrics, params_file, root / "dvc.lock", root / paths.grid),
        scores=root / paths.scores,
        outputs=_pipeline_outputs(paths),
        grid=inputs.grid,
        finetune_metrics=inputs.finetune_metrics,
        context=context,
    )


def _registered(
    reg: Registry, tracking: Tracking, execution: Execution, chosen: Decision
) -> tuple[str | None, Registration]:
    """The version registered with this token (its new verdict recorded, promoted if due), or a new one."""
    from alien.tracking.registration import find_registered, reused

    found = find_registered(reg, execution.token)
    if found is None:
        return log_and_register(reg, tracking, execution, chosen)
    registration = reused(
        reg,
        found,
        promote=chosen.promote,
        expected_champion=chosen.expected_champion,
        reason=chosen.reason,
        gate_report=execution.gate_report,
    )
    return found.run_id, registration


def run(
    registry: RegistryConfig,
    data: DataConfig,
    backbone: BackboneConfig,
    paths: PathsConfig,
    *,
    root: Path,
    params_file: str | Path = "params.yaml",
    context: FlowContext | None = None,
    experiment: str | None = None,
    registry_root: Path | None = None,
) -> RegisterResult:
    """Log the run and register the model once; promote it if the gate passed and nothing changed since.

    Args:
        registry: the ``registry`` section (model name, experiment, URI, promote, mode).
        data: the ``data`` section (``source`` names the run and the version's dataset).
        backbone: the ``backbone`` section (``name`` names the run).
        paths: where the earlier stages wrote (deployable, metrics, plots, gate report, raw),
            relative to ``root``.
        root: the project root (``paths.*``, ``dvc.lock``, git, a relative sqlite URI).
        params_file: ``params.yaml``, logged as flattened params and as an artifact.
        context: the flow's stage seconds and run (``None`` under ``dvc repro``).
        experiment: the ``dvc exp run``'s name (``DVC_EXP_NAME``): registered, never promoted.
        registry_root: what a relative registry URI is relative to (default ``root``).

    Returns:
        The :class:`RegisterResult` (also written to ``paths.registration``).

    Raises:
        FileNotFoundError, ValueError: an input is missing or malformed (nothing was logged).
        RegistryUnavailableError: the tracking store / registry cannot be reached.
        RegistryBusyError: another registration held the lock for :data:`LOCK_TIMEOUT_S`.
    """
    from alien.tracking.registration import registration_token

    root = Path(root)
    warning = leftover_experiment_warning(registry, experiment)
    if warning:
        log.warning("WARNING: %s", warning)
    registry = effective_registry(registry, experiment)
    inputs = read_register_inputs(paths, root=root)
    token = registration_token(
        inputs.deployable, inputs.data_version, model_name=registry.model_name, mode=registry.mode
    )
    names = (data.source, backbone.name)
    execution = _execution(
        inputs, token, paths, root=root, params_file=Path(params_file), names=names, context=context
    )
    chosen = decision(inputs.gate_report, registry, experiment=experiment)
    with run_environment():
        tracking = configure_tracking(registry, root=root if registry_root is None else registry_root)
        reg = Registry(tracking.client, registry.model_name, tracking.uri, registry.mode, registry.experiment)
        standing = None if experiment is not None else _standing(reg, execution, registry)
        if standing is not None:
            write_json(root / paths.registration, standing.to_dict())
            return standing
        return _locked(reg, tracking, execution, chosen, registry, experiment, root / paths.registration)


def _standing(reg: Registry, execution: Execution, cfg: RegistryConfig) -> RegisterResult | None:
    """The result of the last decision on the same inputs, if the registry is still in the state it left."""
    recorded = last_decision(reg, **decided_on(execution.token, execution.gate_report_file, cfg))
    if recorded is None:
        return None
    names = {f.name for f in fields(RegisterResult)}
    return RegisterResult(**{k: v for k, v in unchanged_registration(recorded).items() if k in names})


def _locked(
    reg: Registry,
    tracking: Tracking,
    execution: Execution,
    chosen: Decision,
    cfg: RegistryConfig,
    experiment: str | None,
    out: Path,
) -> RegisterResult:
    """Under the registry lock: recover, register (or reuse), record the outcome, write it to ``out``."""
    with reg.lock(timeout=LOCK_TIMEOUT_S):
        recovery = reg.recover(token=execution.token)
        run_id, registration = _registered(reg, tracking, execution, chosen)
        result = _result(
            reg, cfg, tracking.uri, execution.token, chosen, registration, run_id=run_id, recovery=recovery
        )
        result = dataclasses.replace(result, experiment=experiment)
        record_outcome(
            reg, result.version, run_id, headline=outcome_headline(result.to_dict()), experiment=experiment
        )
        inputs = decided_on(execution.token, execution.gate_report_file, cfg)
        record_decision(reg, result.version, inputs=inputs, registration=result.to_dict())  # the last write
        write_json(out, result.to_dict())
    return result


def _result(
    reg: Registry,
    cfg: RegistryConfig,
    uri: str,
    token: str,
    chosen: Decision,
    registration: Registration,
    *,
    run_id: str | None,
    recovery: Recovery,
) -> RegisterResult:
    """What happened, read back from the live registry (still under the lock)."""
    pin = reg.pin()
    return RegisterResult(
        run_id=run_id,
        model_name=cfg.model_name,
        version=registration.version,
        promoted=registration.promotion.promoted,
        champion_version=reg.champion(),
        previous_champion=registration.promotion.previous,
        tracking_uri=uri,
        gate_passed=chosen.gate_passed,
        reason=registration.promotion.reason,
        champion_at_gate=chosen.expected_champion,
        mode=cfg.mode,
        token=token,
        reused=registration.reused,
        pinned=None if pin is None else str(pin["version"]),
        recovered=_recovered(recovery),
    )


def _recovered(recovery: Recovery) -> list[str]:
    notes = [f"finished an interrupted {recovery.finished!r} change"] if recovery.finished else []
    notes += [f"deleted orphaned pending version {v}" for v in recovery.deleted]
    return notes + [f"ended abandoned run {r.run_id} FAILED: {r.reason}" for r in recovery.ended]


def cli_keywords() -> dict[str, Any]:
    """What DVC tells this stage's command line: the experiment's name and the repository root."""
    return {"experiment": dvc_experiment(), "registry_root": dvc_root()}


# `python -m alien.stages.register`: exit 3 when the registry is down or busy (2 for bad input).
EXIT_CODES = {RegistryUnavailableError: (3, "registry unavailable"), RegistryBusyError: (3, "registry busy")}
main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main(None))
