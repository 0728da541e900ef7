"""A new gate verdict on a version registered before (same model and data, judged again)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alien.tracking.events import now
from alien.tracking.registry import TAG_GATE_PASSED

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from alien.tracking.registry import Registry

TAG_GATE_REPORT = "alien.gate_report"
TAG_GATE_DECIDED_AT = "alien.gate_decided_at"


def record_gate(registry: Registry, found: ModelVersion, gate_report: Mapping[str, Any]) -> str | None:
    """Record a new verdict on an already registered version (the gate re-decided it).

    The same model and data can meet a different verdict later: other gate params, another
    champion. When the verdict differs from the version's ``gate_passed`` tag, the report
    is logged into the version's run as ``gate_reports/<UTC>.json`` and the tags point at
    it, so the listing, the card and the promotion event name the verdict that acted.

    Returns:
        The report's ``runs:/`` URI, or ``None`` when the verdict is unchanged.
    """
    passed = str(bool(gate_report["passed"])).lower()
    if found.tags.get(TAG_GATE_PASSED) == passed:
        return None
    at = now()
    artifact = f"gate_reports/{at.replace(':', '').replace('+0000', 'Z')}.json"
    if found.run_id is None:  # registered without a run (not by this product): nowhere to keep the report
        uri = "(no run to keep the report in)"
    else:
        registry.client.log_text(found.run_id, json.dumps(dict(gate_report), indent=2), artifact)
        uri = f"runs:/{found.run_id}/{artifact}"
    for key, value in ((TAG_GATE_PASSED, passed), (TAG_GATE_REPORT, uri), (TAG_GATE_DECIDED_AT, at)):
        registry.client.set_model_version_tag(registry.model_name, str(found.version), key, value)
    return uri
