"""Assemble ``docs/results.md`` from the files the benchmarks wrote in ``benchmarks/results/``.

The hand-written reading between ``<!-- reading:start -->`` and ``<!-- reading:end -->`` is kept;
every table is regenerated. ``make results`` runs all benchmarks and then this script.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "results.md"
START, END = "<!-- reading:start -->", "<!-- reading:end -->"


def _read(name: str) -> str | None:
    path = RESULTS / name
    return path.read_text().strip() if path.is_file() else None


def _reading() -> str:
    if DOC.is_file() and START in DOC.read_text():
        text = DOC.read_text()
        return text[text.index(START) : text.index(END) + len(END)]
    return f"{START}\n_(reading to be written after the numbers)_\n{END}"


def main() -> None:
    import torch
    import transformers

    parts = [
        "# Results",
        "",
        f"Hardware: {platform.machine()}, {torch.get_num_threads()} torch threads, CPU only; "
        f"torch {torch.__version__}, transformers {transformers.__version__}. "
        "Regenerate everything with `make results` (hours on 2 cores; cells are cached under `benchmarks/runs/`); each section names its script.",
        "",
        "## Reading",
        "",
        _reading(),
        "",
    ]
    sections = [
        (
            "The head against temperature scaling, every setting and head variant (issue 18) — `benchmarks/bench_vs_temperature.py`",
            _read("vs_temperature.md"),
        ),
        (
            "Calibrated ALIEN: each map vs the raw head and temperature scaling — `benchmarks/bench_calibration.py`",
            _read("calibration.md"),
        ),
        (
            "Selective prediction: realised risk and coverage under the guarantee — `benchmarks/bench_selective.py`",
            _read("selective.md"),
        ),
        (
            "Grid selection: ROC-AUC vs proper scoring rules vs top-k averaging — `benchmarks/bench_selection.py`",
            _read("selection.md"),
        ),
        ("Serving under concurrent clients — `benchmarks/bench_serving.py`", _code(_read("serving.txt"))),
        (
            "Quality matrix (calibrated ALIEN, raw head, every baseline), protocol and ablation — `benchmarks/quality_matrix.py`",
            _read("matrix.md"),
        ),
        (
            "NER (WNUT-16) and decoder (SmolLM2 + LoRA) backbones, 3 seeds — `benchmarks/bench_tasks.py`",
            _read("tasks.md"),
        ),
        ("Inference overhead — `benchmarks/bench_inference.py`", _code(_read("inference.txt"))),
        ("Alignment grid — `benchmarks/bench_grid.py`", _code(_read("grid.txt"))),
        ("Pipeline and orchestration — `benchmarks/bench_pipeline.py`", _pipeline()),
    ]
    for title, body in sections:
        parts += [f"## {title}", "", body or "_not run yet_", ""]
    DOC.write_text("\n".join(parts))
    print(f"wrote {DOC}")


def _code(text: str | None) -> str | None:
    return None if text is None else f"```\n{text}\n```"


def _pipeline() -> str | None:
    raw = _read("pipeline.json")
    if raw is None:
        return None
    data = json.loads(raw)
    lines = ["| runner | first run (s) | no-op re-run (s) |", "|---|---|---|"]
    for runner in ("dvc repro", "prefect flow"):
        lines.append(f"| {runner} | {data[runner]['first_run_s']} | {data[runner]['noop_rerun_s']} |")
    lines += ["", f"Prefect flow / dvc repro wall time: {data['prefect_over_dvc']} (target ≤ 1.10)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
