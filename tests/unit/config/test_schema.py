"""The JSON schema of params.yaml: shipped current, and it says what the loader says."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from alien.config.schema import params_schema

ROOT = Path(__file__).resolve().parents[3]
jsonschema = pytest.importorskip("jsonschema")


def test_the_shipped_schema_is_current():
    shipped = json.loads((ROOT / "params.schema.json").read_text())
    assert shipped == params_schema(), "regenerate: python -m alien.config.schema > params.schema.json"


def test_the_shipped_params_follow_the_schema_and_every_key_is_required():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    schema = params_schema()
    jsonschema.validate(raw, schema)
    for section, values in raw.items():
        for key in values:
            broken = copy.deepcopy(raw)
            del broken[section][key]
            with pytest.raises(jsonschema.ValidationError, match=key):
                jsonschema.validate(broken, schema)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("align", "lr", 0.1),
        ("align", "learning_rates", [1.5]),
        ("calibration", "method", "spline"),
        ("evaluate", "baselines", ["dropout"]),
        ("finetune", "batch_size", 0),
        ("gates", "max_ece", 0),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(section, key, value):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw[section][key] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, params_schema())
