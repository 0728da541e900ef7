"""The served model's prediction log: which folder, and appending one answered request.

A served model is configured by its serving process, not by ``params.yaml`` (the
server may run far from the project): ``ALIEN_MONITOR_LOG`` names the log's folder or
its ``postgresql://`` URL (unset or empty: no log) and ``ALIEN_MONITOR_LOG_TEXT=true`` keeps each input's
text. Both are read once, when the model loads. With the log on, every answered
request is appended (:class:`alien.monitoring.PredictionLog`: safe under
concurrent threads and worker processes) and each output row gains a
``request_id`` column: the id ``alien feedback`` attaches the late label to.

A failed append (a full disk) is logged and the request is answered without
``request_id``: monitoring never takes serving down.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from alien.monitoring.schema import LogStore

log = logging.getLogger(__name__)
LOG_ENV = "ALIEN_MONITOR_LOG"
"""The served model's prediction-log folder (unset or empty: no log)."""
LOG_TEXT_ENV = "ALIEN_MONITOR_LOG_TEXT"
"""``true`` / ``1``: the log keeps each input's text, not only its SHA-256."""
REQUEST_ID_COLUMN = "request_id"
UNREGISTERED = "unregistered"
"""Name and version logged for a model served away from its registry."""
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def log_from_env(environ: Mapping[str, str] | None = None) -> LogStore | None:
    """The prediction log the serving process asked for, or ``None`` when it asked for none.

    Raises:
        ValueError: ``ALIEN_MONITOR_LOG_TEXT`` is not a boolean word (named).
    """
    env = os.environ if environ is None else environ
    folder = env.get(LOG_ENV, "").strip()
    if not folder:
        return None
    text = env.get(LOG_TEXT_ENV, "").strip().lower()
    if text not in _TRUE | _FALSE:
        raise ValueError(f"{LOG_TEXT_ENV} must be true or false, got {env[LOG_TEXT_ENV]!r}")
    from alien.monitoring.location import redact_url
    from alien.monitoring.stores import open_log

    log.info("prediction log: %s (texts %s)", redact_url(folder), "kept" if text in _TRUE else "hashed")
    return open_log(folder, log_text=text in _TRUE)


def log_response(
    prediction_log: LogStore,
    texts: list[str],
    frame: pd.DataFrame,
    *,
    model_name: str | None,
    model_version: str | None,
) -> pd.DataFrame:
    """Append one answered request to the log; ``frame`` with each row's ``request_id`` added (in place).

    A frame of per-word lists (token classification) is not logged: the log holds one
    ``u`` per input. A failed append returns ``frame`` unchanged (logged as an error).
    """
    from alien.monitoring.log import rows_from_frame

    if len(frame) and not pd.api.types.is_float_dtype(frame["uncertainty"]):
        return frame
    try:
        rows = rows_from_frame(
            frame, texts, model_name=model_name or UNREGISTERED, model_version=model_version or UNREGISTERED
        )
        ids = prediction_log.append(rows)
    except Exception:
        log.exception("prediction log: the append failed; answering without request_id")
        return frame
    # in place: the frame is this request's own, and a copy costs ~1 ms per request under 8 clients
    frame[REQUEST_ID_COLUMN] = ids
    return frame
