"""A tiny, real copy of the project for pipeline tests: the shipped params.yaml shrunk
(tiny data, a tiny randomly initialised BERT, a 2-config grid), in a real git + DVC repo.

``make_tiny_project(task="token-classification")`` swaps in a tiny CoNLL NER file and
``family="llama"`` a tiny decoder backbone."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tests.tiny import save_tiny_backbone, tiny_texts_and_labels

ROOT = Path(__file__).resolve().parents[1]

SHRINK: dict[str, dict[str, Any]] = {
    "data": {"max_rows": None, "test_fraction": 0.3, "validation_fraction": 0.2, "alignment_fraction": 0.2},
    "backbone": {"max_length": 32},
    "finetune": {"epochs": 3, "batch_size": 16, "learning_rate": 1e-3, "warmup_ratio": 0.0},
    "align": {
        "learning_rates": [1e-3],
        "alphas": [0.1, 1.0],
        "betas": [0.01],
        "max_epochs": 5,
        "patience": 2,
        "batch_size": 32,
    },
    "evaluate": {"baselines": ["softmax_response", "entropy", "temperature_scaling", "mahalanobis"]},
    # A random tiny model cannot beat its own uncertainty with confidence; these tests are about
    # the mechanics, so the quality bars are opened and individual tests close them again.
    "gates": {
        "require_backbone_improvement": False,
        "max_ece": 1.0,
        "champion_auroc_margin": 1.0,
        "champion_brier_margin": 1.0,
        "champion_accuracy_margin": 1.0,
        "bootstrap_samples": 200,
    },
}


def shrunk_params(root: Path, **overrides: dict[str, Any]) -> dict[str, Any]:
    """The shipped params.yaml with SHRINK applied, paths unchanged, data/backbone under ``root``."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in SHRINK.items():
        params[section].update(values)
    params["data"]["source"] = str(root / "tiny.csv")
    params["backbone"]["name"] = str(root / "tiny_backbone")
    params["registry"]["tracking_uri"] = f"sqlite:///{root / 'mlflow.db'}"
    for section, values in overrides.items():
        params[section].update(values)
    return params


def write_params(root: Path, **overrides: dict[str, Any]) -> Path:
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(shrunk_params(root, **overrides), sort_keys=False))
    return path


PERSONS = ["alice", "bob", "carol smith", "dan brown", "eve"]
PLACES = ["paris", "new york", "rome", "old town", "lima"]
NER_TEMPLATES = [
    "{per} loved the film in {loc}",
    "one of the best movies of the year said {per}",
    "a dull film from {loc} number {i}",
    "{per} and {per2} watched it in {loc} number {i}",
    "terrible acting and a stupid script",
]


def tiny_ner_records(n: int = 160, *, seed: int = 0) -> list[dict[str, list[str]]]:
    """``n`` tiny BIO-tagged sentences (types ``per``/``loc``), deterministic for a seed.

    Every seventh entity has the wrong type (so a trained model still errs) and
    some sentences are longer than 32 tokens (so truncation drops words).
    """
    rng = random.Random(seed)
    records, entities = [], 0
    for i in range(n):
        template = NER_TEMPLATES[i % len(NER_TEMPLATES)]
        tokens: list[str] = []
        tags: list[str] = []
        for part in template.split():
            if part.startswith("{") and part in ("{per}", "{per2}", "{loc}"):
                kind = "loc" if part == "{loc}" else "per"
                entities += 1
                if entities % 7 == 0:
                    kind = "per" if kind == "loc" else "loc"
                words = rng.choice(PLACES if part == "{loc}" else PERSONS).split()
                tokens += words
                tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
            else:
                tokens.append(part.format(i=i))
                tags.append("O")
        records.append({"tokens": tokens, "tags": tags})
    return records


def write_conll(path: Path, records: list[dict[str, list[str]]]) -> Path:
    lines = []
    for record in records:
        lines += [f"{token}\t{tag}" for token, tag in zip(record["tokens"], record["tags"], strict=True)]
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def make_tiny_project(
    root: Path,
    *,
    rows: int = 160,
    dvc: bool = True,
    task: str = "sequence-classification",
    family: str = "bert",
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Lay out a runnable tiny project in ``root`` and return it.

    Args:
        root: the project folder (created).
        rows: examples in the tiny dataset.
        dvc: make it a git + DVC repository.
        task: ``sequence-classification`` (tiny.csv) or ``token-classification`` (tiny.conll, BIO).
        family: the tiny backbone, ``bert`` or ``llama`` (see :func:`tests.tiny.tiny_model`).
        overrides: params sections to update after shrinking (e.g. ``{"finetune": {"method": "lora"}}``).
    """
    root.mkdir(parents=True, exist_ok=True)
    params: dict[str, dict[str, Any]] = {}
    if task == "token-classification":
        write_conll(root / "tiny.conll", tiny_ner_records(rows))
        params["data"] = {"source": str(root / "tiny.conll"), "task": task}
    else:
        texts, labels = tiny_texts_and_labels(rows)
        pd.DataFrame({"text": texts, "label": ["pos" if y else "neg" for y in labels]}).to_csv(
            root / "tiny.csv", index=False
        )
    save_tiny_backbone(root / "tiny_backbone", family)
    for section, values in (overrides or {}).items():
        params[section] = {**params.get(section, {}), **values}
    write_params(root, **params)
    shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
    shutil.copy(
        ROOT / "params.schema.json", root / "params.schema.json"
    )  # the stage CLI checks the whole file
    # dvc.yaml lists the stage code as dependencies
    shutil.copytree(ROOT / "alien", root / "alien", ignore=shutil.ignore_patterns("__pycache__"))
    if dvc:
        run = lambda *cmd: subprocess.run(cmd, cwd=root, check=True, capture_output=True)  # noqa: E731
        run("git", "init", "-q")
        run("git", "config", "user.email", "t@example.com")
        run("git", "config", "user.name", "t")
        run(sys.executable, "-m", "dvc", "init", "-q")
        run(sys.executable, "-m", "dvc", "config", "core.analytics", "false")
        run(sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(root / "dvc-remote"))
    return root


def align_without_test_features(root: Path, params: Any, monkeypatch: Any) -> dict[str, Any]:
    """Run ``align`` again with the test split's features unreadable (renamed away, then back).

    Returns the splits align asked for (``asked``) and the deployable's files before and after
    (``before``, ``after``: name -> bytes), so a test can check that no test row reached the head.
    """
    from alien.pipeline.table import stage_runner
    from alien.stages import align
    from alien.stages.artifacts import feature_path

    deployable = Path(root / params.paths.deployable)
    before = {p.name: p.read_bytes() for p in deployable.iterdir() if p.is_file()}
    asked: list[str] = []
    real = align.load_split_features
    monkeypatch.setattr(
        align, "load_split_features", lambda p, split: (asked.append(split), real(p, split))[1]
    )
    test_features = root / feature_path(params.paths, "test")
    hidden = test_features.with_name("test.hidden")
    test_features.rename(hidden)
    try:
        stage_runner("align")(params, root=root)
    finally:
        hidden.rename(test_features)
    after = {p.name: p.read_bytes() for p in deployable.iterdir() if p.is_file()}
    return {"asked": asked, "before": before, "after": after}
