"""The one ``main`` of every stage: sections by name, params_file, root, extra keywords, exit statuses."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from alien.config import DataConfig, PathsConfig, RegistryConfig
from alien.pipeline.cli import StageResult, call_run, params_file_with, stage_main

SHIPPED = Path(__file__).resolve().parents[3] / "params.yaml"


@dataclass(frozen=True)
class _Result(StageResult):
    got: dict[str, str]


class _Down(RuntimeError):
    pass


def _module(run, **attrs) -> types.ModuleType:
    module = types.ModuleType("alien.stages.fake")
    module.__spec__ = types.SimpleNamespace(name="alien.stages.fake")  # type: ignore[assignment]
    module.run = run  # type: ignore[attr-defined]
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def _run(
    registry: RegistryConfig, data: DataConfig, paths: PathsConfig, *, params_file: str = "x"
) -> _Result:
    if data.source == "down":
        raise _Down("connection refused")
    if data.source == "bad":
        raise ValueError("no such source 'bad'")
    return _Result(
        {"registry": registry.model_name, "data": data.source, "paths": paths.raw, "file": params_file}
    )


def _params(tmp_path: Path, source: str = "package:rotten_tomatoes") -> Path:
    raw = yaml.safe_load(SHIPPED.read_text())
    raw["data"]["source"] = source
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_main_passes_the_sections_run_names_and_the_params_file(tmp_path, capsys):
    path = _params(tmp_path)
    assert stage_main(_module(_run), ["--params", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "stage": "fake",
        "got": {
            "registry": "alien-classifier",
            "data": "package:rotten_tomatoes",
            "paths": "data/raw/dataset.jsonl",
            "file": str(path),
        },
    }


@pytest.mark.parametrize(
    ("source", "status", "line"),
    [
        ("bad", 2, "fake: error: no such source 'bad'"),
        ("down", 3, "fake: registry unavailable: connection refused"),
    ],
)
def test_errors_are_one_line_with_the_status(tmp_path, capsys, source, status, line):
    module = _module(_run, EXIT_CODES={_Down: (3, "registry unavailable")})
    assert stage_main(module, ["--params", str(_params(tmp_path, source))]) == status
    captured = capsys.readouterr()
    assert captured.err.strip() == line and captured.out == ""


def test_an_unmapped_error_still_raises(tmp_path):
    with pytest.raises(_Down):
        stage_main(_module(_run), ["--params", str(_params(tmp_path, "down"))])


def test_run_naming_a_non_section_is_a_type_error():
    from alien.config import load_params

    def run(paths: PathsConfig, colour: str) -> _Result:
        raise AssertionError("not called")

    with pytest.raises(TypeError, match="'colour', which is not a params section"):
        call_run(run, load_params(SHIPPED), root=".")


def _takes_root_and_context(
    paths: PathsConfig, *, root: Path, params_file: str = "x", context: object = None
) -> _Result:
    return _Result({"root": repr(root), "file": params_file, "context": repr(context)})


def test_root_params_file_and_extra_keywords_reach_run_when_it_takes_them(tmp_path):
    from alien.config import load_params

    result = call_run(
        _takes_root_and_context, load_params(SHIPPED), root=str(tmp_path), params_file="p.yaml", context=7
    )
    assert result.to_dict()["got"] == {"root": repr(tmp_path), "file": "p.yaml", "context": "7"}
    # a run that takes neither root nor params_file gets neither
    assert set(call_run(_run, load_params(SHIPPED), root=tmp_path).to_dict()["got"]) == {
        "registry",
        "data",
        "paths",
        "file",
    }
    with pytest.raises(TypeError, match=r"does not take \['colour'\].*it takes \['context'\]"):
        call_run(_takes_root_and_context, load_params(SHIPPED), root=tmp_path, colour="red")
    with pytest.raises(TypeError, match=r"does not take \['context'\]"):
        call_run(_run, load_params(SHIPPED), root=tmp_path, context=7)


def test_main_passes_the_working_directory_as_root(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert stage_main(_module(_takes_root_and_context), ["--params", str(_params(tmp_path))]) == 0
    assert json.loads(capsys.readouterr().out)["got"]["root"] == repr(tmp_path)


def test_params_file_with_is_the_file_itself_or_a_copy_with_the_sections(tmp_path):
    from alien.config import load_params

    path = _params(tmp_path)
    params = load_params(path)
    assert params_file_with(path, tmp_path, data=params.data) == path
    (tmp_path / "other").mkdir()
    other = load_params(_params(tmp_path / "other", "package:trec")).data
    copy = params_file_with(path, tmp_path / "other", data=other)
    assert copy == tmp_path / "other" / "params.yaml"
    written = load_params(copy)
    assert written.data == other and written.data != params.data
    assert all(getattr(written, s) == getattr(params, s) for s in ("paths", "backbone", "align", "registry"))


def test_main_reads_only_the_sections_run_takes(tmp_path, capsys):
    """A stage loads (and its code deps hold) only its own sections; an invalid other section is the
    pre-flight's business, a missing or invalid own section still exits 2 naming it."""
    raw = yaml.safe_load(SHIPPED.read_text())
    raw["gates"]["max_ece"] = "not a number"
    path = tmp_path / "other_invalid.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert stage_main(_module(_run), ["--params", str(path)]) == 0
    del raw["registry"]
    path.write_text(yaml.safe_dump(raw))
    assert stage_main(_module(_run), ["--params", str(path)]) == 2
    assert "registry" in capsys.readouterr().err
