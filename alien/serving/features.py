"""The features the head reads, for served texts: what the monitor tests for drift.

The prediction log keeps no representation of an input (its text at most), so the
monitor recomputes one at monitor time: one frozen, batched forward pass of the
deployable's backbone, capturing the pooled feature ``z`` that the classifier head
reads (and the ALIEN head with it) exactly as
:meth:`~alien.core.model.AlienClassifier.predict` does: same tokenizer, same
``max_length``, same tap and pooling. The features stage caches the champion's test
split's ``z`` (``FeatureSet.features``) with :func:`alien.core.capture.extract_features`
through the same capture, so a window's rows and the test split are points of one
space and can be compared. Earlier layers' states, which the ALIEN head may also read
(``align.layers``), are not part of it: ``z`` is the one representation every model
has, and mixing it with differently scaled layers would let the widest dominate the
principal components the drift test uses. Serving pays nothing for it; the monitor
pays one forward pass per distinct logged text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from alien.core.capture import capture_features, encode, frozen
from alien.core.deployable import read_metadata
from alien.core.feature_set import FeatureSet
from alien.core.head_builder import head_spec
from alien.core.model import AlienClassifier
from alien.core.prediction import check_predict_inputs
from alien.task import get_task

Featurizer = Callable[[Sequence[str]], npt.NDArray[np.float64]]
"""Texts -> ``(len(texts), H)`` features of the head's input."""


def served_features(
    classifier: AlienClassifier, texts: Sequence[str], *, batch_size: int = 32
) -> npt.NDArray[np.float64]:
    """The pooled feature ``z`` the classifier head reads for ``texts``, from one frozen forward pass.

    Args:
        classifier: the deployable model (sequence classification).
        texts: ``N`` texts, as they were served.
        batch_size: texts per backbone forward.

    Returns:
        ``(N, H)`` float64, row ``i`` the feature of ``texts[i]``; equal to
        :func:`alien.core.capture.extract_features`'s ``features`` on the same texts
        (padding among different batch mates moves them by float rounding only).

    Raises:
        TypeError: ``classifier`` is not an :class:`AlienClassifier`, or a text is not a string.
        ValueError: a token-classification model (its features are per word, a served
            row is a text), no texts, or ``batch_size < 1``.
    """
    if not isinstance(classifier, AlienClassifier):
        raise TypeError(f"classifier must be an AlienClassifier, got {type(classifier).__name__}")
    if get_task(classifier.task).is_token:
        raise ValueError(
            f"served_features needs a sequence-classification model, this one is {classifier.task!r}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    check_predict_inputs(texts, classifier.task)
    model = classifier.model
    spec = head_spec(model)
    device = next(model.parameters()).device
    parts: list[torch.Tensor] = []
    with frozen(model):
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            batch = encode(
                classifier.tokenizer, chunk, task=classifier.task, max_length=classifier.max_length
            )
            z, _ = capture_features(model, {k: v.to(device) for k, v in batch.items()}, spec=spec)
            parts.append(z.float().cpu())
    return torch.cat(parts).numpy().astype(np.float64)


def deployable_featurizer(directory: str | Path, *, batch_size: int = 32) -> Featurizer:
    """:func:`served_features` of the deployable saved in ``directory``, loaded on first call.

    Loading waits for the first call so that a monitor run whose log keeps no texts
    never loads the model.

    Raises:
        FileNotFoundError: (on first call) ``directory`` is not a deployable folder.
    """
    folder = Path(directory)
    loaded: list[AlienClassifier] = []
    lock = threading.Lock()

    def featurize(texts: Sequence[str]) -> npt.NDArray[np.float64]:
        with lock:
            if not loaded:
                loaded.append(AlienClassifier.load(folder))
        return served_features(loaded[0], texts, batch_size=batch_size)

    return featurize


def feature_reference(deployable: Path, test_features: Path) -> dict[str, Any]:
    """The monitor reference's feature fields (:class:`alien.monitoring.session.Reference`): the test
    split's features and the featurizer of the deployable that made them (loaded on first use);
    or ``feature_note`` saying which is missing, or why the test does not apply.

    Args:
        deployable: the deployable model's folder.
        test_features: the test split's cached :class:`~alien.core.feature_set.FeatureSet` file.
    """
    not_tested = "feature drift not tested: "
    if not (deployable / "alien.json").is_file():
        return {"feature_note": f"{not_tested}no deployable model at {deployable} (run the pipeline)"}
    if not test_features.is_file():
        return {
            "feature_note": f"{not_tested}no test-split features at {test_features} (run the features stage)"
        }
    task = read_metadata(deployable).get("task", "sequence-classification")
    if get_task(task).is_token:
        return {"feature_note": f"{not_tested}{task} logs one row per text, the features are per word"}
    return {
        "features": FeatureSet.load(test_features).features.double().numpy(),
        "featurize": deployable_featurizer(deployable),
        "feature_source": f"{deployable} (test split: {test_features})",
    }
