"""Entities of a token-classification prediction, each with one uncertainty.

Tags follow the BIO scheme (IOB2: ``B-<type>``, ``I-<type>``, ``O``). Decoding
follows ``conlleval`` (seqeval's default mode), so the entities served are the
ones the evaluation's entity F1 counts: an entity starts at ``B-X`` or at an
``I-X`` that does not continue an ``X`` entity, and ends before the next
``B``, ``O`` or tag of another type.

An entity's uncertainty is an aggregate of its words' ALIEN uncertainties
(each word's ``u`` is that of its first sub-token). The default is the
**maximum**: an entity is wrong as soon as one of its words is, so it is at
least as uncertain as its most uncertain word. ``"mean"`` is available too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import numpy as np

Aggregate = Literal["max", "mean"]
AGGREGATES: tuple[str, ...] = get_args(Aggregate)
OUTSIDE = "O"


@dataclass(frozen=True)
class Entity:
    """One decoded entity.

    Attributes:
        text: its words joined by single spaces.
        type: the entity type (``"loc"`` for ``B-loc``/``I-loc``).
        start_word: index of its first word in the input.
        end_word: index of its last word (inclusive).
        uncertainty: the aggregate of its words' uncertainties.
    """

    text: str
    type: str
    start_word: int
    end_word: int
    uncertainty: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_bio_scheme(tags: Sequence[str]) -> bool:
    """Whether a tag set is BIO: ``O`` plus ``B-``/``I-`` tags with a non-empty type.

    >>> is_bio_scheme(["O", "B-loc", "I-loc"]), is_bio_scheme(["NOUN", "VERB"])
    (True, False)
    """
    tags = list(tags)
    return OUTSIDE in tags and all(t == OUTSIDE or (len(t) > 2 and t[:2] in ("B-", "I-")) for t in tags)


def _split(tag: str) -> tuple[str, str]:
    if tag == OUTSIDE:
        return OUTSIDE, ""
    if len(tag) > 2 and tag[:2] in ("B-", "I-"):
        return tag[0], tag[2:]
    raise ValueError(f"tag {tag!r} is not BIO; allowed: 'O', 'B-<type>', 'I-<type>'")


def bio_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(type, first word, last word)`` of every entity in one tag sequence.

    Raises:
        ValueError: a tag that is not ``O``, ``B-<type>`` or ``I-<type>``.

    >>> bio_spans(["B-loc", "I-loc", "O", "I-per", "B-per", "I-loc"])
    [('loc', 0, 1), ('per', 3, 3), ('per', 4, 4), ('loc', 5, 5)]
    """
    if isinstance(tags, str):
        raise TypeError("tags must be a sequence of tag strings, not one string")
    spans: list[tuple[str, int, int]] = []
    current: tuple[str, int] | None = None  # (type, start) of the open entity
    for i, tag in enumerate(tags):
        prefix, kind = _split(str(tag))
        continues = prefix == "I" and current is not None and current[0] == kind
        if current is not None and not continues:
            spans.append((current[0], current[1], i - 1))
            current = None
        if prefix != OUTSIDE and not continues:
            current = (kind, i)
    if current is not None:
        spans.append((current[0], current[1], len(tags) - 1))
    return spans


def aggregate_uncertainty(u: Sequence[float] | np.ndarray, *, how: Aggregate = "max") -> float:
    """One uncertainty for a span of words.

    >>> aggregate_uncertainty([0.1, 0.7, 0.4]), round(aggregate_uncertainty([0.1, 0.7, 0.4], how="mean"), 6)
    (0.7, 0.4)
    """
    if how not in AGGREGATES:
        raise ValueError(f"how must be one of {list(AGGREGATES)}, got {how!r}")
    values = np.asarray(u, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("cannot aggregate the uncertainty of an empty span")
    return float(values.max() if how == "max" else values.mean())


def extract_entities(
    words: Sequence[str],
    tags: Sequence[str],
    uncertainty: Sequence[float] | np.ndarray,
    *,
    aggregate: Aggregate = "max",
) -> list[Entity]:
    """Entities of one example from its words, predicted tags and per-word uncertainty.

    Args:
        words: the ``W`` words.
        tags: ``W`` predicted BIO tags.
        uncertainty: ``(W,)`` per-word uncertainty.
        aggregate: how a multi-word entity's uncertainty is formed (default: max).

    Raises:
        ValueError: lengths differ, a tag is not BIO, or an unknown ``aggregate``.

    >>> [e.text for e in extract_entities(["in", "new", "york"], ["O", "B-loc", "I-loc"], [0.1, 0.2, 0.6])]
    ['new york']
    """
    u = np.asarray(uncertainty, dtype=np.float64).reshape(-1)
    if not len(words) == len(tags) == len(u):
        raise ValueError(f"got {len(words)} words, {len(tags)} tags and {len(u)} uncertainties")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {list(AGGREGATES)}, got {aggregate!r}")
    return [
        Entity(
            text=" ".join(words[start : end + 1]),
            type=kind,
            start_word=start,
            end_word=end,
            uncertainty=aggregate_uncertainty(u[start : end + 1], how=aggregate),
        )
        for kind, start, end in bio_spans(tags)
    ]


def entities_per_example(
    inputs: Sequence[Sequence[str]],
    labels: np.ndarray,
    uncertainty: np.ndarray,
    example_ids: np.ndarray,
    word_ids: np.ndarray,
    label_names: Sequence[str],
    *,
    aggregate: Aggregate = "max",
) -> list[list[Entity]]:
    """Entities of every example from word rows (the layout of a token :class:`~alien.core.model.Prediction`).

    Words without a row — cut off by ``max_length`` — are read as ``O``: the
    model said nothing about them, so they belong to no entity.

    Args:
        inputs: the ``N`` examples' words.
        labels: ``(R,)`` predicted tag ids, one row per surviving word.
        uncertainty: ``(R,)`` the rows' uncertainty.
        example_ids: ``(R,)`` example index of each row.
        word_ids: ``(R,)`` word index of each row within its example.
        label_names: tag names (index = tag id), BIO.

    Raises:
        ValueError: mismatched row arrays, an out-of-range example or word id, or non-BIO tags.
    """
    if not is_bio_scheme(label_names):
        raise ValueError(
            f"label_names must be a BIO tag set ('O', 'B-<type>', 'I-<type>'), got {list(label_names)}"
        )
    rows = [np.asarray(a).reshape(-1) for a in (labels, uncertainty, example_ids, word_ids)]
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"row arrays differ in length: {[len(r) for r in rows]}")
    tags = [[OUTSIDE] * len(words) for words in inputs]
    u = [np.zeros(len(words)) for words in inputs]
    for label, value, example, word in zip(*rows, strict=True):
        e, w = int(example), int(word)
        if not (0 <= e < len(inputs) and 0 <= w < len(inputs[e])):
            raise ValueError(f"row for example {e}, word {w} is outside the {len(inputs)} inputs")
        tags[e][w] = label_names[int(label)]
        u[e][w] = float(value)
    return [
        extract_entities(words, t, v, aggregate=aggregate)
        for words, t, v in zip(inputs, tags, u, strict=True)
    ]
