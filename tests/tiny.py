"""Tiny, real, randomly initialised models and data for tests (no downloads).

Every model is built from a config (hidden size 32, 2 layers) and shares a
WordPiece tokenizer trained here on a few sentences, so a whole pipeline runs
in seconds on CPU.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    ElectraConfig,
    ElectraForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaForSequenceClassification,
)

POSITIVE = [
    "a warm funny and moving film",
    "brilliant acting and a clever script",
    "one of the best movies of the year",
    "delightful charming and beautifully shot",
    "an absolute joy from start to finish",
    "smart touching and wonderfully made",
]
NEGATIVE = [
    "a dull boring and lifeless film",
    "terrible acting and a stupid script",
    "one of the worst movies of the year",
    "tedious clumsy and badly shot",
    "an absolute mess from start to finish",
    "lazy pointless and poorly made",
]

TEXTS = POSITIVE + NEGATIVE


def tiny_texts_and_labels(n: int = 48, *, seed: int = 0) -> tuple[list[str], list[int]]:
    """``n`` short labelled sentences (label 1 positive, 0 negative), deterministic for a seed."""
    g = torch.Generator().manual_seed(seed)
    texts, labels = [], []
    for i in range(n):
        pool, label = (POSITIVE, 1) if i % 2 == 0 else (NEGATIVE, 0)
        base = pool[int(torch.randint(len(pool), (1,), generator=g))]
        words = base.split()
        # a little noise so examples differ and the task is not trivially separable
        j = int(torch.randint(len(words), (1,), generator=g))
        other = TEXTS[int(torch.randint(len(TEXTS), (1,), generator=g))].split()
        words[j] = other[int(torch.randint(len(other), (1,), generator=g))]
        texts.append(f"{' '.join(words)} number {i}")
        labels.append(label)
    return texts, labels


def _vocab() -> dict[str, int]:
    """A fixed WordPiece vocabulary: specials, every corpus word, digits and letters (+ ``##`` pieces)."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted({w for t in TEXTS for w in t.split()} | {"number"})
    chars = [*"0123456789", *"abcdefghijklmnopqrstuvwxyz"]
    tokens = dict.fromkeys(specials + words + chars + [f"##{c}" for c in chars])  # ordered, unique
    return {t: i for i, t in enumerate(tokens)}


VOCAB_SIZE = len(_vocab())


def tiny_tokenizer(*, padding_side: str = "right") -> PreTrainedTokenizerFast:
    """A WordPiece tokenizer over a fixed tiny vocabulary (deterministic), BERT-style special tokens."""
    tok = Tokenizer(models.WordPiece(vocab=_vocab(), unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        padding_side=padding_side,
        model_max_length=64,
    )


_COMMON = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def tiny_model(family: str, *, num_labels: int = 2, seed: int = 0) -> PreTrainedModel:
    """A randomly initialised tiny classifier of one family.

    Families: ``bert``, ``roberta``, ``electra``, ``distilbert``, ``llama``
    (sequence classification) and ``bert-token`` (token classification).
    """
    torch.manual_seed(seed)
    pad = 0  # "[PAD]" is the first special token of tiny_tokenizer
    if family in ("bert", "bert-token"):
        cfg = BertConfig(
            vocab_size=VOCAB_SIZE,
            max_position_embeddings=64,
            num_labels=num_labels,
            pad_token_id=pad,
            **_COMMON,
        )
        cls = BertForTokenClassification if family == "bert-token" else BertForSequenceClassification
        model: PreTrainedModel = cls(cfg)
    elif family == "roberta":
        cfg = RobertaConfig(
            vocab_size=VOCAB_SIZE,
            max_position_embeddings=70,
            num_labels=num_labels,
            pad_token_id=pad,
            **_COMMON,
        )
        model = RobertaForSequenceClassification(cfg)
    elif family == "electra":
        cfg = ElectraConfig(
            vocab_size=VOCAB_SIZE,
            embedding_size=32,
            max_position_embeddings=64,
            num_labels=num_labels,
            pad_token_id=pad,
            **_COMMON,
        )
        model = ElectraForSequenceClassification(cfg)
    elif family == "distilbert":
        cfg = DistilBertConfig(
            vocab_size=VOCAB_SIZE,
            dim=32,
            n_layers=2,
            n_heads=2,
            hidden_dim=64,
            max_position_embeddings=64,
            num_labels=num_labels,
            pad_token_id=pad,
        )
        model = DistilBertForSequenceClassification(cfg)
    elif family == "llama":
        cfg = LlamaConfig(
            vocab_size=VOCAB_SIZE,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
            num_labels=num_labels,
            pad_token_id=pad,
        )
        model = LlamaForSequenceClassification(cfg)
    else:
        raise ValueError(f"unknown tiny family {family!r}")
    model.eval()
    return model


def save_tiny_backbone(directory: Path, family: str = "bert", *, num_labels: int = 2) -> Path:
    """Save a tiny model + tokenizer as a Hugging Face folder and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    tiny_model(family, num_labels=num_labels).save_pretrained(directory)
    tiny_tokenizer(padding_side="left" if family == "llama" else "right").save_pretrained(directory)
    return directory
