"""Full fine-tuning and LoRA (merged) on tiny real models."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

from alien.backbones.finetune import finetune
from alien.backbones.lora import apply_lora, head_module_names, lora_target_modules
from alien.backbones.records import validate_records
from alien.options.finetune import FinetuneOptions
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

FAST: dict[str, Any] = {"epochs": 4.0, "batch_size": 8, "learning_rate": 5e-3, "warmup_ratio": 0.0, "seed": 0}
SEQ = "sequence-classification"
TOKEN = "token-classification"


def seq_records(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    texts, labels = tiny_texts_and_labels(n, seed=seed)
    return [{"text": t, "label": y} for t, y in zip(texts, labels, strict=True)]


def token_records(n: int) -> list[dict[str, Any]]:
    # tag 1 on sentiment words, 2 on the number, 0 elsewhere: learnable from the word itself
    sentiment = {"warm", "funny", "brilliant", "best", "dull", "boring", "terrible", "worst", "joy", "mess"}
    records = []
    for text, _ in zip(*tiny_texts_and_labels(n), strict=True):
        words = text.split()
        tags = [1 if w in sentiment else 2 if w.isdigit() else 0 for w in words]
        records.append({"tokens": words, "tags": tags})
    return records


def logits_of(model: torch.nn.Module, tokenizer: Any, texts: list[str]) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    if "token_type_ids" in batch and model.config.model_type == "llama":
        del batch["token_type_ids"]
    model.eval()
    with torch.no_grad():
        return model(**batch).logits


def mean_loss(model: torch.nn.Module, tokenizer: Any, records: list[dict[str, Any]]) -> float:
    batch = tokenizer([r["text"] for r in records], padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        return float(model(**batch, labels=torch.tensor([r["label"] for r in records])).loss)


def test_full_finetune_learns_and_saves_loadable_model(tmp_path: Path) -> None:
    model, tokenizer = tiny_model("bert", seed=1), tiny_tokenizer()
    train, val = seq_records(32), seq_records(12, seed=1)
    before_loss = mean_loss(model, tokenizer, train)
    before_weights = copy.deepcopy(model.state_dict())
    options = {**FAST, "epochs": 10.0}  # tiny BERT plateaus at first
    summary = finetune(
        model,
        tokenizer,
        train,
        val,
        method="full",
        **options,
        task=SEQ,
        max_length=32,
        output_dir=tmp_path / "out",
    )
    assert mean_loss(model, tokenizer, train) < before_loss - 0.2
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before_weights[k])]
    assert any("encoder" in k for k in changed) and any("classifier" in k for k in changed)
    assert summary.method == "full" and summary.train_rows == 32 and summary.val_rows == 12
    assert summary.trainable_params == summary.total_params == sum(p.numel() for p in model.parameters())
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")
    texts = [r["text"] for r in val]
    torch.testing.assert_close(logits_of(reloaded, tokenizer, texts), logits_of(model, tokenizer, texts))
    predictions = logits_of(reloaded, tokenizer, texts).argmax(-1)
    expected_accuracy = float((predictions == torch.tensor([r["label"] for r in val])).float().mean())
    assert summary.val_accuracy == pytest.approx(expected_accuracy)
    assert (tmp_path / "out" / "tokenizer.json").is_file()
    assert not any(p.name.startswith("checkpoint") for p in (tmp_path / "out").iterdir())


def test_apply_lora_leaves_only_adapters_and_head_trainable() -> None:
    model = tiny_model("bert")
    peft_model = apply_lora(model, r=4)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable
    assert all("lora_" in n or "modules_to_save" in n for n in trainable)
    assert any(".query.lora_A" in n for n in trainable) and any(".value.lora_B" in n for n in trainable)
    assert not any(".key." in n for n in trainable)
    assert any("classifier.modules_to_save" in n for n in trainable)
    assert any("pooler.modules_to_save" in n for n in trainable)


def test_lora_merge_preserves_logits() -> None:
    model, tokenizer = tiny_model("bert"), tiny_tokenizer()
    peft_model = apply_lora(model, r=4, dropout=0.0)
    torch.manual_seed(3)
    with torch.no_grad():  # LoRA starts as the identity (B = 0); make it do something
        for name, param in peft_model.named_parameters():
            if "lora_" in name or "modules_to_save" in name:
                param.add_(0.3 * torch.randn_like(param))
    texts = tiny_texts_and_labels(8)[0]
    before = logits_of(peft_model, tokenizer, texts)
    merged = peft_model.merge_and_unload()
    assert not any(
        "lora" in type(m).__name__.lower() or "ModulesToSave" in type(m).__name__ for m in merged.modules()
    )
    torch.testing.assert_close(logits_of(merged, tokenizer, texts), before, atol=1e-5, rtol=0)


def test_lora_finetune_changes_only_adapted_and_head_weights(tmp_path: Path) -> None:
    model, tokenizer = tiny_model("bert", seed=2), tiny_tokenizer()
    before = copy.deepcopy(model.state_dict())
    summary = finetune(
        model,
        tokenizer,
        seq_records(32),
        seq_records(8, seed=1),
        method="lora",
        lora_r=4,
        **FAST,
        task=SEQ,
        max_length=32,
        output_dir=tmp_path / "out",
    )
    after = model.state_dict()
    assert set(after) == set(before)  # merged: no peft parameters left
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert "bert.encoder.layer.0.attention.self.query.weight" in changed
    assert "classifier.weight" in changed and "bert.pooler.dense.weight" in changed
    assert not any(".key." in k or "intermediate" in k or "embeddings" in k for k in changed)
    expected = sum(
        p.numel() for n, p in apply_lora(tiny_model("bert"), r=4).named_parameters() if p.requires_grad
    )
    assert summary.trainable_params == expected < summary.total_params
    assert summary.lora_target_modules == ("query", "value")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")
    assert not any("lora" in k for k in reloaded.state_dict())
    texts = tiny_texts_and_labels(6)[0]
    torch.testing.assert_close(logits_of(reloaded, tokenizer, texts), logits_of(model, tokenizer, texts))


def test_lora_on_tiny_llama_decoder(tmp_path: Path) -> None:
    model, tokenizer = tiny_model("llama"), tiny_tokenizer(padding_side="left")
    summary = finetune(
        model,
        tokenizer,
        seq_records(24),
        seq_records(8, seed=1),
        method="lora",
        lora_r=4,
        **FAST,
        task=SEQ,
        max_length=32,
        output_dir=tmp_path / "out",
    )
    assert summary.lora_target_modules == ("q_proj", "v_proj")
    assert summary.val_accuracy is not None and 0.0 <= summary.val_accuracy <= 1.0
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")
    assert type(reloaded).__name__ == "LlamaForSequenceClassification"
    assert reloaded.config.pad_token_id == tokenizer.pad_token_id
    texts = tiny_texts_and_labels(6)[0]
    torch.testing.assert_close(logits_of(reloaded, tokenizer, texts), logits_of(model, tokenizer, texts))


@pytest.mark.parametrize("method", ["full", "lora"])
def test_token_classification(tmp_path: Path, method: str) -> None:
    model, tokenizer = tiny_model("bert-token", num_labels=3), tiny_tokenizer()
    train, val = token_records(32), token_records(8)
    summary = finetune(
        model,
        tokenizer,
        train,
        val,
        method=method,  # type: ignore[arg-type]
        **FAST,
        task=TOKEN,
        max_length=32,
        output_dir=tmp_path / "out",
    )
    reloaded = AutoModelForTokenClassification.from_pretrained(tmp_path / "out").eval()
    words = [r["tokens"] for r in val]
    batch = tokenizer(words, is_split_into_words=True, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = reloaded(**batch).logits
        torch.testing.assert_close(logits, model(**batch).logits)
    correct = total = 0  # accuracy over the first sub-token of every word, by hand
    for i, record in enumerate(val):
        seen: set[int] = set()
        for position, word in enumerate(batch.word_ids(i)):
            if word is not None and word not in seen:
                seen.add(word)
                correct += int(logits[i, position].argmax()) == record["tags"][word]
                total += 1
    assert summary.val_accuracy == pytest.approx(correct / total)
    assert summary.val_accuracy > 0.5  # three tags, learnable from the word itself


def test_empty_validation_gives_no_accuracy(tmp_path: Path) -> None:
    summary = finetune(
        tiny_model("bert"),
        tiny_tokenizer(),
        seq_records(8),
        [],
        epochs=1.0,
        batch_size=8,
        task=SEQ,
        max_length=16,
        output_dir=tmp_path / "out",
    )
    assert summary.val_accuracy is None and summary.val_rows == 0
    assert summary.to_dict()["val_accuracy"] is None


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ([], "train split is empty"),
        (
            [{"text": "good film", "label": 0}, {"text": "bad", "label": 5}],
            r"train record 1: label 5 is out of range",
        ),
        ([{"txt": "good film", "label": 0}], r"train record 0 has no 'text' field"),
        ([{"text": 3, "label": 0}], "'text' must be a string"),
        ([{"text": "good", "label": True}], "must be an integer"),
    ],
)
def test_bad_records_raise_naming_the_problem(
    tmp_path: Path, train: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        finetune(
            tiny_model("bert"),
            tiny_tokenizer(),
            train,
            [],
            task=SEQ,
            max_length=16,
            output_dir=tmp_path / "out",
        )
    assert not (tmp_path / "out").exists()


def test_bad_validation_record_is_named() -> None:
    with pytest.raises(ValueError, match=r"validation record 0: label -1"):
        validate_records([{"text": "x", "label": -1}], task=SEQ, num_labels=2, split="validation")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"tokens": ["a", "b"], "tags": [0]}, "as long as 'tokens'"),
        ({"tokens": "a b", "tags": [0, 0]}, "non-empty list of strings"),
        ({"tokens": ["a"], "tags": [3]}, "out of range for 3 labels"),
        ({"words": ["a"], "tags": [0]}, "no 'tokens' field"),
    ],
)
def test_bad_token_records(record: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_records([record], task=TOKEN, num_labels=3, split="train")
    validate_records([{"tokens": ["a", "b"], "tags": [0, -100]}], task=TOKEN, num_labels=3, split="train")


def test_lora_targets_per_family_and_errors() -> None:
    assert lora_target_modules(tiny_model("distilbert")) == ("q_lin", "v_lin")
    assert lora_target_modules(tiny_model("roberta")) == ("query", "value")
    assert lora_target_modules(tiny_model("llama")) == ("q_proj", "v_proj")
    assert lora_target_modules(tiny_model("bert"), ("key",)) == ("key",)
    with pytest.raises(ValueError, match=r"\['q_proj'\] not found"):
        lora_target_modules(tiny_model("bert"), ("q_proj",))
    assert head_module_names(tiny_model("distilbert")) == ("pre_classifier", "classifier")
    assert head_module_names(tiny_model("llama")) == ("score",)
    assert head_module_names(tiny_model("bert-token")) == ("classifier",)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"methd": "lora"}, TypeError, r"unknown key 'finetune.methd'; allowed: \[.*'method'"),
        ({"method": "qlora"}, ValueError, r"finetune.method: input should be 'full' or 'lora', got 'qlora'"),
        ({"epochs": 0}, ValueError, r"finetune.epochs: input should be greater than 0, got 0"),
        ({"batch_size": 0}, ValueError, r"finetune.batch_size: input should be greater than or equal to 1"),
        ({"batch_size": 8.0}, TypeError, r"finetune.batch_size: input should be a valid integer, got 8.0"),
        ({"learning_rate": 2.0}, ValueError, r"finetune.learning_rate: input should be less than 1"),
        ({"lora_dropout": 1.0}, ValueError, r"finetune.lora_dropout: input should be less than 1"),
        ({"threads": 0}, ValueError, r"finetune.threads: input should be greater than or equal to 1"),
        ({"group_by_length": "yes"}, TypeError, r"finetune.group_by_length: input should be a valid boolean"),
        ({"device": "tpu"}, ValueError, r"device must be one of \['cpu', 'cuda'\]"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        finetune(tiny_model("bert"), tiny_tokenizer(), seq_records(8), [], task=SEQ, max_length=16, **options)


def test_without_output_dir_nothing_is_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    model = tiny_model("bert")
    before = copy.deepcopy(model.state_dict())
    summary = finetune(
        model,
        tiny_tokenizer(),
        seq_records(8),
        seq_records(4),
        task=SEQ,
        max_length=16,
        **FAST,
    )
    assert list(tmp_path.iterdir()) == []
    assert summary.processes == 1 and summary.val_accuracy is not None
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_an_options_object_is_the_recipe_and_keywords_override_it() -> None:
    options = FinetuneOptions(method="lora", lora_r=2, **{**FAST, "epochs": 4.0})
    summary = finetune(
        tiny_model("bert"), tiny_tokenizer(), seq_records(8), [], options, task=SEQ, max_length=16, epochs=1.0
    )
    assert summary.method == "lora" and summary.lora_target_modules  # from the object
    assert summary.log_history[-1]["epoch"] == pytest.approx(1.0)  # the keyword won over its 4 epochs


def test_threads_hold_while_training_and_are_restored_afterwards() -> None:
    model, seen = tiny_model("bert"), []

    def watch(module: torch.nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        seen.append((module.training, torch.get_num_threads()))

    model.register_forward_pre_hook(watch, with_kwargs=True)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        finetune(
            model,
            tiny_tokenizer(),
            seq_records(8),
            seq_records(4),
            task=SEQ,
            max_length=16,
            threads=1,
            **FAST,
        )
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert {training for training, _ in seen} == {True, False}  # training steps and validation scoring
    assert {threads for _, threads in seen} == {1}
