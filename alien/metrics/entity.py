"""Entity-level precision, recall and F1 of a BIO tagger (seqeval, ``conlleval`` mode).

An entity counts as found only if its type and both boundaries match a gold
entity exactly; scores are micro-averaged over all entities. ``seqeval`` comes
with the ``pipeline`` extra and is imported on first use.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from alien.metrics.checks import to_numpy

ENTITY_METRIC_KEYS: tuple[str, ...] = ("entity_precision", "entity_recall", "entity_f1", "entity_support")


def _check_tags(sequences: Any, name: str) -> list[list[str]]:
    if isinstance(sequences, str) or not isinstance(sequences, Sequence):
        raise TypeError(f"{name} must be a list of tag lists, got {type(sequences).__name__}")
    out: list[list[str]] = []
    for i, tags in enumerate(sequences):
        if (
            isinstance(tags, str)
            or not isinstance(tags, Sequence)
            or not all(isinstance(t, str) for t in tags)
        ):
            raise TypeError(f"{name}[{i}] must be a list of tag strings, got {tags!r:.80}")
        out.append(list(tags))
    return out


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level micro precision, recall and F1, and the number of gold entities.

    A predicted sequence may be *shorter* than its gold sequence (words cut off
    by truncation have no prediction): the missing tail counts as ``O``, so
    entities there are missed, never invented. Undefined ratios (no predicted
    or no gold entity) are 0.

    Args:
        gold: ``N`` gold tag sequences (``O``, ``B-<type>``, ``I-<type>``).
        predicted: ``N`` predicted tag sequences, each at most as long as its gold one.

    Returns:
        ``entity_precision``, ``entity_recall``, ``entity_f1`` and ``entity_support``.

    Raises:
        TypeError: not lists of tag strings.
        ValueError: empty input, a different number of sequences, or a prediction
            longer than its gold sequence.

    >>> gold = [["B-loc", "I-loc", "O", "B-per"]]
    >>> {k: round(v, 4) for k, v in entity_scores(gold, [["B-loc", "I-loc", "O", "O"]]).items()}
    {'entity_precision': 1.0, 'entity_recall': 0.5, 'entity_f1': 0.6667, 'entity_support': 2.0}
    """
    gold_tags = _check_tags(gold, "gold")
    pred_tags = _check_tags(predicted, "predicted")
    if not gold_tags:
        raise ValueError("gold is empty; entity scores are undefined on empty input")
    if len(gold_tags) != len(pred_tags):
        raise ValueError(f"got {len(gold_tags)} gold sequences but {len(pred_tags)} predicted ones")
    for i, (g, p) in enumerate(zip(gold_tags, pred_tags, strict=True)):
        if len(p) > len(g):
            raise ValueError(f"predicted sequence {i} has {len(p)} tags, longer than its {len(g)} gold tags")
        p.extend(["O"] * (len(g) - len(p)))

    from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on 0/0, which is reported as 0 here
        precision, recall, f1, _ = precision_recall_fscore_support(
            gold_tags, pred_tags, average="micro", zero_division=0
        )
    support = sum(len(get_entities(g)) for g in gold_tags)
    return {
        "entity_precision": float(precision),
        "entity_recall": float(recall),
        "entity_f1": float(f1),
        "entity_support": float(support),
    }


def tag_sequences(tag_ids: Any, example_ids: Any, label_names: Sequence[str]) -> list[list[str]]:
    """Regroup per-word rows into one tag sequence per example.

    Rows of one example keep their order (a token :class:`~alien.core.feature_set.FeatureSet`
    lists an example's surviving words in word order); examples come out in
    increasing id order.

    Args:
        tag_ids: ``(R,)`` tag ids, one row per word.
        example_ids: ``(R,)`` example index of each row.
        label_names: tag names, index = tag id.

    Raises:
        ValueError: mismatched lengths or a tag id outside ``label_names``.

    >>> tag_sequences([1, 0, 2, 0], [0, 0, 1, 1], ["O", "B-x", "I-x"])
    [['B-x', 'O'], ['I-x', 'O']]
    """
    tags = to_numpy(tag_ids, "tag_ids").reshape(-1).astype(np.int64)
    ids = to_numpy(example_ids, "example_ids").reshape(-1).astype(np.int64)
    if tags.shape != ids.shape:
        raise ValueError(f"tag_ids has {tags.size} rows but example_ids has {ids.size}")
    if tags.size and (tags.min() < 0 or tags.max() >= len(label_names)):
        raise ValueError(f"tag ids must be in [0, {len(label_names)}), got {tags.min()}..{tags.max()}")
    order = np.argsort(ids, kind="stable")
    groups: dict[int, list[str]] = {}
    for row in order:
        groups.setdefault(int(ids[row]), []).append(label_names[int(tags[row])])
    return [groups[k] for k in sorted(groups)]
