"""Tokenisation of pre-split words with word-level labels (token classification).

Only the first sub-token of each word carries the word's label; the other
sub-tokens, special tokens and padding get ``-100`` (ignored by the loss, the
features and the metrics). Fine-tuning and feature extraction share this code
so they agree on which token stands for which word.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import BatchEncoding, PreTrainedTokenizerBase

from alien.task import IGNORE_INDEX


def align_word_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """Token labels for one example from its word ids and word labels.

    Args:
        word_ids: per token, the index of its word or ``None`` for special tokens.
        word_labels: one label per word (``-100`` to ignore a word).

    Returns:
        One label per token: the word's label on its first sub-token, ``-100`` elsewhere.

    >>> align_word_labels([None, 0, 0, 1, None], [3, 5])
    [-100, 3, -100, 5, -100]
    """
    first = first_subtoken_mask(word_ids)
    return [
        int(word_labels[word]) if is_first and word is not None else IGNORE_INDEX
        for word, is_first in zip(word_ids, first, strict=True)
    ]


def first_subtoken_mask(word_ids: Sequence[int | None]) -> list[bool]:
    """``True`` at the first sub-token of every word.

    >>> first_subtoken_mask([None, 0, 0, 1, None])
    [False, True, False, True, False]
    """
    mask: list[bool] = []
    previous: int | None = None
    for word in word_ids:
        mask.append(word is not None and word != previous)
        previous = word
    return mask


def _check_words(words_batch: Sequence[Sequence[str]]) -> None:
    for i, words in enumerate(words_batch):
        if isinstance(words, str) or not all(isinstance(w, str) for w in words):
            raise TypeError(f"example {i} must be a list of word strings, got {words!r:.80}")


def tokenize_words(
    tokenizer: PreTrainedTokenizerBase, words_batch: Sequence[Sequence[str]], *, max_length: int
) -> BatchEncoding:
    """Tokenise pre-split words (truncated, unpadded); ``.word_ids(i)`` maps tokens to words.

    Raises:
        TypeError: a non-fast tokenizer (no word ids) or an example that is not a list of strings.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(
            f"token classification needs a fast tokenizer (word ids), got {type(tokenizer).__name__}"
        )
    _check_words(words_batch)
    words = [list(w) for w in words_batch]
    return tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)


def tokenize_and_align_labels(
    tokenizer: PreTrainedTokenizerBase,
    words_batch: Sequence[Sequence[str]],
    labels_batch: Sequence[Sequence[int]],
    *,
    max_length: int,
) -> BatchEncoding:
    """Tokenise words and give each token its label (``-100`` off first sub-tokens).

    Words cut off by ``max_length`` simply get no token. The result is unpadded
    (lists per example, with a ``labels`` key), ready for ``datasets.map`` and
    ``DataCollatorForTokenClassification``; :func:`pad_encoding` pads it.

    Args:
        tokenizer: a fast tokenizer.
        words_batch: ``B`` examples, each a list of words.
        labels_batch: ``B`` lists of word labels, one per word.
        max_length: maximum number of tokens per example, specials included.

    Returns:
        The encoding with ``input_ids``, ``attention_mask`` and ``labels``.

    Raises:
        ValueError: the number of examples or of words and labels disagree.
        TypeError: see :func:`tokenize_words`.
    """
    if len(words_batch) != len(labels_batch):
        raise ValueError(f"got {len(words_batch)} examples but {len(labels_batch)} label lists")
    for i, (words, labels) in enumerate(zip(words_batch, labels_batch, strict=True)):
        if len(words) != len(labels):
            raise ValueError(f"example {i} has {len(words)} words but {len(labels)} labels")
    encoding = tokenize_words(tokenizer, words_batch, max_length=max_length)
    encoding["labels"] = [
        align_word_labels(encoding.word_ids(i), labels) for i, labels in enumerate(labels_batch)
    ]
    return encoding


def pad_encoding(tokenizer: PreTrainedTokenizerBase, encoding: BatchEncoding) -> dict[str, torch.Tensor]:
    """Pad an unpadded encoding to its longest example; ``labels`` are padded with ``-100``.

    Padding follows ``tokenizer.padding_side``.
    """
    features = {k: v for k, v in encoding.items() if k != "labels"}
    padded = tokenizer.pad(features, padding=True, return_tensors="pt")
    batch = {k: v for k, v in padded.items()}
    if "labels" in encoding:
        length = batch["input_ids"].shape[1]
        rows = []
        for labels in encoding["labels"]:
            pad = [IGNORE_INDEX] * (length - len(labels))
            rows.append(pad + list(labels) if tokenizer.padding_side == "left" else list(labels) + pad)
        batch["labels"] = torch.tensor(rows, dtype=torch.long)
    return batch
