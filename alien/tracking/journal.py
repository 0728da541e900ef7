"""Write-ahead journal: several registry writes that take effect all together or not at all.

MLflow's registry has no transactions: an alias move, a tag write and a version
delete are separate calls, and a process can die between any two of them. A
multi-write change is therefore first written as a *plan* (a list of
idempotent steps) into one registered-model tag, :data:`JOURNAL_TAG` — a
single write, so the plan is either recorded or not. The steps run in order,
then the tag is deleted. A crash before the tag exists leaves the registry as
it was; a crash after it leaves a recorded plan that :func:`recover` (called
first by every write, under the registry lock) runs again to the end.

Builders order the steps so that the move of the ``champion`` alias (what
serving reads) is the last one: a reader of ``@champion`` sees the old
champion or the new one, never a half-made change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alien.tracking.names import JOURNAL_TAG
from alien.tracking.setup import is_missing

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
# step kind -> number of arguments after the kind
STEP_ARITY = {"alias": 2, "unalias": 1, "vtag": 3, "vuntag": 2, "mtag": 2, "muntag": 1, "rtag": 3}


@dataclass(frozen=True)
class Plan:
    """One registry change: its name (``promote``, ``rollback``, ...) and its idempotent steps.

    Each step is a tuple ``(kind, *args)``: ``("alias", alias, version)``,
    ``("unalias", alias)``, ``("vtag", version, key, value)``, ``("vuntag", version, key)``,
    ``("mtag", key, value)``, ``("muntag", key)``, ``("rtag", run_id, key, value)``.
    """

    action: str
    steps: tuple[tuple[str, ...], ...]
    versions: tuple[str, ...] = field(default=())  # whose card/role changes

    def __post_init__(self) -> None:
        for step in self.steps:
            if not step or step[0] not in STEP_ARITY or len(step) != STEP_ARITY[step[0]] + 1:
                raise ValueError(f"bad journal step {step!r}; kinds and arities: {STEP_ARITY}")

    def to_json(self) -> str:
        return json.dumps({"action": self.action, "steps": self.steps, "versions": self.versions})

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        steps = tuple(tuple(str(a) for a in step) for step in data["steps"])
        return cls(str(data["action"]), steps, tuple(str(v) for v in data.get("versions", ())))


def _run_step(client: MlflowClient, name: str, step: Sequence[str]) -> None:
    kind, *args = step
    if kind == "alias":
        client.set_registered_model_alias(name, args[0], args[1])
    elif kind == "unalias":
        client.delete_registered_model_alias(name, args[0])
    elif kind == "vtag":
        client.set_model_version_tag(name, args[0], args[1], args[2])
    elif kind == "vuntag":
        client.delete_model_version_tag(name, args[0], args[1])
    elif kind == "mtag":
        client.set_registered_model_tag(name, args[0], args[1])
    elif kind == "muntag":
        client.delete_registered_model_tag(name, args[0])
    else:  # "rtag"
        client.set_tag(args[0], args[1], args[2])


def _run_steps(client: MlflowClient, name: str, plan: Plan) -> None:
    from mlflow.exceptions import MlflowException

    for step in plan.steps:
        try:
            _run_step(client, name, step)
        except MlflowException as exc:
            # deleting what is already gone (a replayed step) is done, not failed
            if not (is_missing(exc) and step[0] in ("unalias", "vuntag", "muntag")):
                raise


def apply(client: MlflowClient, name: str, plan: Plan) -> None:
    """Record ``plan`` in the journal, run its steps, clear the journal.

    Raises:
        RuntimeError: another change's plan is still recorded (run :func:`recover` first).
        MlflowException: a write failed; the plan stays recorded for :func:`recover`.
    """
    if pending(client, name) is not None:
        raise RuntimeError(f"registered model {name!r} has an unfinished change; recover it first")
    client.set_registered_model_tag(name, JOURNAL_TAG, plan.to_json())
    _run_steps(client, name, plan)
    client.delete_registered_model_tag(name, JOURNAL_TAG)


def pending(client: MlflowClient, name: str) -> Plan | None:
    """The recorded, unfinished plan of registered model ``name`` (``None``: nothing pending)."""
    from mlflow.exceptions import MlflowException

    try:
        tags: dict[str, Any] = client.get_registered_model(name).tags
    except MlflowException as exc:
        if is_missing(exc):
            return None
        raise
    text = tags.get(JOURNAL_TAG)
    return None if text is None else Plan.from_json(text)


def recover(client: MlflowClient, name: str) -> Plan | None:
    """Finish an interrupted change (roll forward); returns its plan, or ``None`` if there was none."""
    plan = pending(client, name)
    if plan is None:
        return None
    log.warning("finishing the interrupted %r change of registered model %r", plan.action, name)
    _run_steps(client, name, plan)
    client.delete_registered_model_tag(name, JOURNAL_TAG)
    return plan
