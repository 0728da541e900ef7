"""Prefect task: the live registry's state, read when the run summary is written."""

from __future__ import annotations

from typing import Any

from prefect import task

from alien.config.registry import RegistryConfig
from tasks.stages import RETRY


@task(name="registry-state", **RETRY)
def registry_state_task(registry: RegistryConfig, version: str | None) -> dict[str, Any]:
    """``{"champion", "version", "aliases", "tracking_uri"}``: the champion now and ``version``'s aliases."""
    from alien.tracking import Registry, resolve_tracking_uri
    from alien.tracking.setup import missing_store

    uri = resolve_tracking_uri(registry.tracking_uri)
    if missing_store(uri) is not None:  # nothing was ever registered there
        return {"champion": None, "version": version, "aliases": [], "tracking_uri": uri}
    reg = Registry.from_config(registry)
    aliases = reg.aliases()
    return {
        "champion": reg.champion(),
        "version": version,
        "aliases": sorted(a for a, v in aliases.items() if version is not None and v == str(version)),
        "tracking_uri": reg.uri,
    }
