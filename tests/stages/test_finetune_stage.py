"""The ``finetune`` stage: prepared splits in, merged HF folder + metrics out, atomically."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from alien.config import BackboneConfig, DataConfig, FinetuneConfig, PathsConfig
from alien.data.io import write_json, write_jsonl
from alien.stages import finetune as stage
from tests.project import shrunk_params
from tests.tiny import save_tiny_backbone, tiny_model, tiny_texts_and_labels, tiny_tokenizer

LABELS = ["rotten", "fresh"]
FINETUNE = {"epochs": 2.0, "batch_size": 8, "learning_rate": 5e-3, "warmup_ratio": 0.0, "seed": 0}


def records(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    texts, labels = tiny_texts_and_labels(n, seed=seed)
    return [
        {"id": f"{seed}-{i}", "text": t, "label": y}
        for i, (t, y) in enumerate(zip(texts, labels, strict=True))
    ]


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Any]:
    prepared = tmp_path / "data" / "prepared"
    write_jsonl(prepared / "train.jsonl", records(24))
    write_jsonl(prepared / "validation.jsonl", records(8, seed=1))
    write_json(prepared / "labels.json", LABELS)
    backbone_dir = save_tiny_backbone(tmp_path / "tiny-bert", "bert")
    paths = PathsConfig(prepared=str(prepared), backbone=str(tmp_path / "models" / "backbone"))
    return {
        "root": tmp_path,
        "backbone": BackboneConfig(name=str(backbone_dir), max_length=32),
        "finetune": FinetuneConfig(method="lora", lora_r=4, **FINETUNE),
        "data": DataConfig(task="sequence-classification"),
        "paths": paths,
    }


def _run(project: dict[str, Any]) -> stage.FinetuneResult:
    return stage.run(project["backbone"], project["finetune"], project["data"], project["paths"])


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def test_run_writes_merged_folder_and_metrics(project: dict[str, Any]) -> None:
    result = _run(project)
    out = Path(project["paths"].backbone)
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "rotten", 1: "fresh"}
    assert model.config.label2id == {"rotten": 0, "fresh": 1}
    assert not any("lora" in k for k in model.state_dict())
    metrics = json.loads((out / stage.METRICS_FILE).read_text())
    assert metrics["method"] == "lora" and metrics["train_rows"] == 24 and metrics["val_rows"] == 8
    assert metrics["trainable_params"] == result.trainable_params < metrics["total_params"]
    assert metrics["val_accuracy"] == result.val_accuracy
    assert set(metrics) >= {"train_loss", "val_accuracy", "seconds", "method", "trainable_params"}
    # the loss curve a reviewer sees in MLflow: points by increasing step, each with its loss
    curve = metrics["log_history"]
    assert curve and all(p["loss"] > 0 and isinstance(p["step"], int) for p in curve)
    assert [p["step"] for p in curve] == sorted({p["step"] for p in curve})
    assert json.loads(json.dumps(result.to_dict()))["labels"] == LABELS
    # the validation accuracy reported is the saved model's
    tokenizer = AutoTokenizer.from_pretrained(out)
    val = records(8, seed=1)
    with torch.no_grad():
        batch = tokenizer([r["text"] for r in val], padding=True, return_tensors="pt")
        predictions = model.eval()(**batch).logits.argmax(-1)
    assert result.val_accuracy == pytest.approx(
        float((predictions == torch.tensor([r["label"] for r in val])).float().mean())
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["backbone"]  # no temp leftovers


def test_failed_run_leaves_previous_model_intact(project: dict[str, Any]) -> None:
    _run(project)
    out = Path(project["paths"].backbone)
    before = _digest(out)
    prepared = Path(project["paths"].prepared)
    write_jsonl(prepared / "train.jsonl", [*records(4), {"id": "bad", "text": "a film", "label": 7}])
    with pytest.raises(ValueError, match=r"train record 4: label 7 is out of range for 2 labels"):
        _run(project)
    assert _digest(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["backbone"]


def test_failure_during_training_leaves_previous_model_intact(project: dict[str, Any]) -> None:
    _run(project)
    out = Path(project["paths"].backbone)
    before = _digest(out)
    # valid records, but a LoRA target the model lacks: fails after the output folder was opened
    bad = FinetuneConfig(method="lora", lora_target_modules=("q_proj",), **FINETUNE)
    with pytest.raises(ValueError, match="q_proj"):
        stage.run(project["backbone"], bad, project["data"], project["paths"])
    assert _digest(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["backbone"]


def test_empty_train_split_is_named(project: dict[str, Any]) -> None:
    write_jsonl(Path(project["paths"].prepared) / "train.jsonl", [])
    with pytest.raises(ValueError, match=r"train split .* is empty"):
        _run(project)
    assert not Path(project["paths"].backbone).exists()


def test_missing_prepared_data_points_to_prepare(project: dict[str, Any]) -> None:
    (Path(project["paths"].prepared) / "validation.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="prepare"):
        _run(project)


def test_main_runs_from_params_file(
    project: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root: Path = project["root"]
    params = _params(project, finetune={"method": "full", **FINETUNE})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(root)
    assert stage.main(["--params", "params.yaml"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["stage"] == "finetune" and summary["method"] == "full"
    assert summary["trainable_params"] == summary["total_params"] and summary["processes"] == 1
    params["finetune"]["method"] = "qlora"
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assert stage.main(["--params", "params.yaml"]) == 2
    assert "finetune.method" in capsys.readouterr().err


def _params(project: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A complete params mapping (the shipped file, shrunk) pointing at ``project``."""
    paths = {"prepared": project["paths"].prepared, "backbone": project["paths"].backbone}
    backbone = {"name": project["backbone"].name, "max_length": 32}
    return shrunk_params(
        project["root"], paths=paths, backbone=backbone, data={"task": "sequence-classification"}, **sections
    )


# --- inputs that must be refused, and crash leftovers (issue 10) ---------------------------


def test_a_backbone_folder_without_tokenizer_files_is_refused_by_name(project: dict[str, Any]) -> None:
    folder = project["root"] / "no-tokenizer"
    tiny_model("bert").save_pretrained(folder)  # config.json + model.safetensors only
    bare = BackboneConfig(name=str(folder), max_length=32)
    with pytest.raises(ValueError, match=r"no-tokenizer.*no tokenizer files.*tokenizer\.json.*config\.json"):
        stage.run(bare, project["finetune"], project["data"], project["paths"])
    assert not Path(project["paths"].backbone).exists()


def test_pickle_weights_are_refused_unless_allowed(project: dict[str, Any]) -> None:
    folder = project["root"] / "pickled"
    model = tiny_model("bert")
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")  # the pickle format of old checkpoints
    tiny_tokenizer().save_pretrained(folder)
    assert (folder / "pytorch_model.bin").is_file() and not (folder / "model.safetensors").exists()
    pickled = BackboneConfig(name=str(folder), max_length=32)
    with pytest.raises(ValueError, match=r"only pickle weights \['pytorch_model\.bin'\].*allow_pickle"):
        stage.run(pickled, project["finetune"], project["data"], project["paths"])
    assert not Path(project["paths"].backbone).exists()
    allowed = BackboneConfig(name=str(folder), max_length=32, allow_pickle=True)
    result = stage.run(allowed, project["finetune"], project["data"], project["paths"])
    assert (Path(result.output_dir) / "model.safetensors").is_file()  # what we write is safetensors


def test_staging_left_by_a_killed_run_is_removed_on_the_next_start(project: dict[str, Any]) -> None:
    models = Path(project["paths"].backbone).parent
    dead = models / ".backbone.999999999.abcd1234.tmp"  # no such pid
    legacy = models / ".backbone.k2j4h5g6.tmp"  # named before pids were recorded
    alive = models / f".backbone.{os.getppid()}.zzzz9999.tmp"  # a running process's: left alone
    for folder in (dead, legacy, alive):
        (folder / "half").mkdir(parents=True)
    _run(project)
    assert sorted(p.name for p in models.iterdir()) == sorted(["backbone", alive.name])


# --- distributed fine-tuning (issue 12) ----------------------------------------------------


@pytest.mark.integration
def test_two_process_ddp_finetune_writes_one_model_that_loads_and_predicts(project: dict[str, Any]) -> None:
    """``finetune.processes: 2``: the stage re-launches itself under torchrun (gloo on CPU).

    With length-grouped batches and fused AdamW: every rank draws the same seeded order
    (tests/unit/backbones/test_batching.py checks how accelerate splits it over the ranks).
    """
    from alien.backbones.loading import load_finetuned
    from alien.config import load_params

    root: Path = project["root"]
    params_file = root / "params.yaml"
    params_file.write_text(
        yaml.safe_dump(
            _params(
                project,
                finetune={
                    "method": "full",
                    **FINETUNE,
                    "processes": 2,
                    "group_by_length": True,
                    "fused_adamw": True,
                },
            )
        )
    )
    params = load_params(params_file)
    before = sorted(p.name for p in root.iterdir())
    result = stage.run(params.backbone, params.finetune, params.data, params.paths, params_file=params_file)
    out = Path(result.output_dir)
    assert result.processes == 2 and json.loads((out / stage.METRICS_FILE).read_text())["processes"] == 2
    assert sorted(p.name for p in root.iterdir()) == sorted({*before, "models"})
    assert sorted(p.name for p in out.parent.iterdir()) == ["backbone"]  # rank 0 alone wrote, once
    model, tokenizer = load_finetuned(out, task="sequence-classification")
    val = records(8, seed=1)
    with torch.no_grad():
        batch = tokenizer([r["text"] for r in val], padding=True, return_tensors="pt")
        predictions = model(**batch).logits.argmax(-1)
    assert result.val_accuracy == pytest.approx(
        float((predictions == torch.tensor([r["label"] for r in val])).float().mean())
    )
    assert result.train_rows == 24 and model.config.id2label == {0: "rotten", 1: "fresh"}
