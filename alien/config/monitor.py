"""The ``monitor`` section: the prediction log, its windows, and when the monitor starts a retrain.

No stage reads it (it is in no stage's ``params``, so editing it reruns nothing):
``alien predict``, the served model, ``alien feedback``, ``alien monitor`` and the
``monitor`` flow do (:mod:`alien.monitoring`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict
from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Bool, PositiveInt, Probability, Str, Text

_DURATION = re.compile(r"^[1-9][0-9]*(s|min|h|D)$")
_URL_SCHEMES = ("postgresql", "postgres")


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(
            f"must be a duration such as '30min', '1h' or '1D' (units s, min, h, D), got {value!r}"
        )
    return value


def _every_key(cls: type) -> BeforeValidator:
    """A nested mapping must set each of ``cls``'s keys, as a section must (no silent default)."""
    names = [f.name for f in dataclasses.fields(cls)]

    def check(value: Any) -> Any:
        if isinstance(value, Mapping):
            missing = sorted(set(names) - {str(k) for k in value})
            if missing:
                raise ValueError(f"is missing key(s) {missing}; every key must be set in params.yaml")
        return value

    return BeforeValidator(check)


def _log_location(value: str) -> str:
    """A folder, or a PostgreSQL URL without a password (params.yaml is versioned and shared)."""
    if "://" not in value:
        return value
    scheme, rest = value.split("://", 1)
    if scheme.lower() not in _URL_SCHEMES:
        # the value is not echoed: a URL of an unexpected kind may still carry a secret
        raise ValueError(
            f"must be a folder or a {' or '.join(f'{s}://' for s in _URL_SCHEMES)} URL, got a {scheme!r} URL"
        )
    userinfo, at, _ = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")
    if (at and ":" in userinfo) or re.search(r"(?i)[?&]password=", rest):
        raise ValueError(
            "a PostgreSQL URL must not carry its password (params.yaml is versioned): "
            "remove it from the URL and set PGPASSWORD or ~/.pgpass where the log is opened"
        )
    return value


Level = Probability | None
"""A test's level in (0, 1), or null: the trigger is off."""


@dataclass(frozen=True, config=OPTIONS)
class WindowConfig:
    """How the log is cut into windows (one model version per window).

    Attributes:
        by: ``rows`` (consecutive blocks of ``size`` rows) or ``time`` (UTC intervals of ``every``).
        size: rows per window, for ``by: rows``.
        every: window length for ``by: time`` (``30min``, ``1h``, ``1D``).
    """

    by: Literal["rows", "time"] = "rows"
    size: PositiveInt = 200
    every: Annotated[Str, AfterValidator(_duration)] = "1D"


@dataclass(frozen=True, config=OPTIONS)
class RetrainWhenConfig:
    """The triggers of a retrain (:class:`alien.monitoring.triggers.RetrainPolicy`); null = off.

    Attributes:
        error_above_champion: level of the test "window's estimated error > champion's test error".
        drift: level of each drift test (also the level the report's drift column is read at).
        guarantee_violation: level of the binomial test of the risk among accepted labelled rows.
        min_new_labels: fire once a window holds at least this many labelled rows.
    """

    error_above_champion: Level = 0.01
    drift: Level = 0.01
    guarantee_violation: Level = 0.01
    min_new_labels: PositiveInt | None = None


@dataclass(frozen=True, config=ConfigDict(**OPTIONS, hide_input_in_errors=True))  # log may hold a secret
class MonitorConfig:
    """After deployment: the prediction log and the monitor (README "After deployment").

    Attributes:
        log: the prediction log: a folder (local JSONL), or ``postgresql://user@host:port/db``
            (scaled out; the password in ``PGPASSWORD``, never here); null turns logging off.
        log_text: keep each input's text in the log (otherwise its SHA-256 only).
        window: how the log is cut into windows.
        retrain_when: which evidence starts a retrain.
    """

    log: Annotated[Text, AfterValidator(_log_location)] | None = None
    log_text: Bool = False
    window: Annotated[WindowConfig, _every_key(WindowConfig)] = WindowConfig()
    retrain_when: Annotated[RetrainWhenConfig, _every_key(RetrainWhenConfig)] = RetrainWhenConfig()
