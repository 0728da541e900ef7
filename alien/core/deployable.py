"""The deployable folder: how an :class:`~alien.core.model.AlienClassifier` is stored.

Plain files only (safetensors + JSON, no pickle)::

    <dir>/backbone/               save_pretrained of the model and tokenizer
    <dir>/alien_head.safetensors  the head's weights
    <dir>/alien.json              family, kind, eps, labels, max_length, task, format version
    <dir>/calibration.json        the calibration map g and the abstention rule (optional)

Everything that reads these files goes through :func:`read_metadata` and
:func:`read_calibration`; writing is all or nothing
(:func:`alien.assets.atomic.atomic_directory`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # scikit-learn and torch: only reading a calibration needs them (read_calibration)
    from alien.calibration import Calibrator
    from alien.core.abstention import AbstentionRule

FORMAT_VERSION = 1
HEAD_FILE = "alien_head.safetensors"
CONFIG_FILE = "alien.json"
CALIBRATION_FILE = "calibration.json"
BACKBONE_DIR = "backbone"


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """The ``alien.json`` of a deployable folder.

    Raises:
        FileNotFoundError: ``directory`` has no ``alien.json``.
        ValueError: the file is not JSON, or has an unsupported ``format_version``.
    """
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; is {directory} an AlienClassifier folder?")
    meta = _read_json(path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"unsupported {CONFIG_FILE} format_version {meta.get('format_version')!r} in {path}; "
            f"this alien reads {FORMAT_VERSION}"
        )
    return meta


def read_calibration(directory: str | Path) -> tuple[Calibrator | None, AbstentionRule | None]:
    """The calibration map and abstention rule saved with a model (``None`` where absent).

    Raises:
        ValueError: ``calibration.json`` exists but is malformed.
    """
    from alien.calibration import calibrator_from_dict
    from alien.core.abstention import AbstentionRule

    path = Path(directory) / CALIBRATION_FILE
    if not path.is_file():
        return None, None
    data = _read_json(path)
    calibrator = None if data.get("calibrator") is None else calibrator_from_dict(data["calibrator"])
    rule = None if data.get("abstention") is None else AbstentionRule.from_dict(data["abstention"])
    return calibrator, rule


def calibration_document(calibrator: Calibrator | None, rule: AbstentionRule | None) -> dict[str, Any]:
    """What ``calibration.json`` holds."""
    return {
        "calibrator": None if calibrator is None else calibrator.to_dict(),
        "abstention": None if rule is None else rule.to_dict(),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data
