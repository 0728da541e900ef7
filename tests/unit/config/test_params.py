from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alien.config import AlignConfig, ConfigError, DataConfig, load_params, params_from_mapping
from alien.options.align import GridSearch
from alien.options.finetune import FinetuneOptions

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
    """Code defaults serve notebook users only; they must say what params.yaml says, key by key."""
    params = load_params(ROOT / "params.yaml")
    for section in dataclasses.fields(params):
        shipped_section = getattr(params, section.name)
        defaults = type(shipped_section)()
        for key in dataclasses.fields(shipped_section):
            assert getattr(defaults, key.name) == getattr(shipped_section, key.name), (
                f"{section.name}.{key.name}"
            )


def test_the_library_options_are_the_sections_defaults():
    """align and finetune extend the library's options: one home for their defaults and checks."""
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params.align, GridSearch) and isinstance(params.finetune, FinetuneOptions)
    for options, section in ((GridSearch(), params.align), (FinetuneOptions(), params.finetune)):
        for key in dataclasses.fields(options):
            assert getattr(options, key.name) == getattr(section, key.name), key.name


def test_every_error_is_one_line_naming_section_and_key():
    for section, values, needle in [
        ("finetune", {"learning_rate": True}, "finetune.learning_rate"),
        ("align", {"alphas": [0.1, -1]}, "align.alphas[1]"),
        ("align", {"top_k": 28}, "top_k must be at most the grid's 27 configs, got 28"),
        ("calibration", {"method": "spline"}, "'spline' is not one of ['platt'"),
        ("evaluate", {"baselines": ["entropy"]}, "baselines must include 'softmax_response'"),
        ("registry", {"model_name": " "}, "registry.model_name: must not be empty"),
        ("finetune", {"epochs": float("inf")}, "finetune.epochs: input should be a finite number"),
    ]:
        with pytest.raises(ConfigError) as caught:
            params_from_mapping(shipped(**{section: values}))
        assert needle in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


def test_no_silent_conversion_but_yaml_string_numbers():
    bad = {"max_epochs": "5", "oversample_errors": 1, "patience": 2.0}
    for key, value in bad.items():
        with pytest.raises(ConfigError, match=rf"align\.{key}"):
            params_from_mapping(shipped(align={key: value}))
    cfg = params_from_mapping(shipped(finetune={"learning_rate": "1e-4", "epochs": 3})).finetune
    assert (cfg.learning_rate, cfg.epochs) == (1e-4, 3.0) and isinstance(cfg.epochs, float)


def test_importing_the_config_pulls_in_no_torch():
    probe = "import sys, alien.config; print(sorted({'torch', 'sklearn', 'transformers'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_sections_are_frozen():
    cfg = DataConfig()
    with pytest.raises(AttributeError):
        cfg.seed = 1  # type: ignore[misc]
