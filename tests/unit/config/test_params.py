from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alien.config import AlignConfig, ConfigError, DataConfig, load_params, params_from_mapping

ROOT = Path(__file__).resolve().parents[3]


def shipped(**changes: dict) -> dict:
    """The shipped params.yaml as a mapping, with ``changes`` merged into its sections."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in changes.items():
        raw.setdefault(section, {}).update(values)
    return raw


def test_shipped_params_yaml_loads_with_its_values():
    params = load_params(ROOT / "params.yaml")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert params.align.learning_rates == tuple(raw["align"]["learning_rates"])
    assert params.data.source == raw["data"]["source"]
    assert params.registry.model_name == raw["registry"]["model_name"]


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"\['lr'\].*'align'"):
        params_from_mapping(shipped(align={"lr": 0.1}))


def test_unknown_section_is_named():
    with pytest.raises(ConfigError, match="trainer"):
        params_from_mapping(shipped(trainer={}))


@pytest.mark.parametrize(
    ("section", "values", "needle"),
    [
        ("align", {"max_epochs": 0}, "align.max_epochs"),
        ("align", {"learning_rates": []}, "align.learning_rates"),
        ("align", {"uncertainty": "variance"}, "align.uncertainty"),
        ("data", {"test_fraction": 1.5}, "data.test_fraction"),
        ("data", {"test_fraction": 0.5, "validation_fraction": 0.3, "alignment_fraction": 0.2}, "10%"),
        ("data", {"max_rows": "many"}, "data.max_rows"),
        ("evaluate", {"baselines": ["entropy", "dropout"]}, "dropout"),
        ("gates", {"max_ece": 0}, "gates.max_ece"),
        ("finetune", {"method": "qlora"}, "finetune.method"),
        ("finetune", {"batch_size": True}, "finetune.batch_size"),
    ],
)
def test_bad_values_name_the_key(section, values, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        params_from_mapping(shipped(**{section: values}))


def test_yaml_string_numbers_are_accepted_and_lists_become_tuples():
    cfg = params_from_mapping(shipped(align={"learning_rates": ["1e-4", 2e-4]})).align
    assert cfg.learning_rates == (1e-4, 2e-4)
    assert isinstance(cfg, AlignConfig)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_a_missing_section_is_an_error_not_a_silent_default():
    raw = shipped()
    del raw["finetune"]
    with pytest.raises(ConfigError, match=r"\['finetune'\] missing"):
        params_from_mapping(raw)


def test_a_missing_key_is_named():
    raw = shipped()
    del raw["finetune"]["epochs"]
    with pytest.raises(ConfigError, match=r"'finetune' is missing key\(s\) \['epochs'\]"):
        params_from_mapping(raw)


def test_code_defaults_match_the_shipped_params():
    """Code defaults serve notebook users only; they must say what params.yaml says."""
    import dataclasses

    params = load_params(ROOT / "params.yaml")
    for field in dataclasses.fields(params):
        section = getattr(params, field.name)
        assert type(section)() == section, field.name


def test_sections_are_frozen():
    cfg = DataConfig()
    with pytest.raises(AttributeError):
        cfg.seed = 1  # type: ignore[misc]
