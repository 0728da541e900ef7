"""Concurrent ``predict`` calls of one :class:`~alien.core.model.AlienClassifier` share forward passes.

Each call's inputs join a :class:`~alien.serving.batcher.MicroBatcher`; the worker
runs :meth:`AlienClassifier.predict` once on the inputs of several calls and each
call gets back the :class:`~alien.core.prediction.Prediction` of its own inputs.

The outputs equal a batch ``predict`` of the same inputs: texts of different
lengths padded together give the same logits and uncertainty to within float
rounding (the attention mask hides the padding; measured on the tiny test models
of every family, left-padded Llama included: at most 1.2e-7 on u), the
calibration map and the abstention rule act row by row. Token classification is
batched the same way, by input example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import numpy as np

from alien.core.model import AlienClassifier
from alien.core.prediction import Prediction, check_predict_inputs
from alien.serving.batcher import MicroBatcher
from alien.serving.options import BatchingOptions
from alien.task import get_task

_ROW_FIELDS = ("labels", "probabilities", "uncertainty", "raw_uncertainty", "abstain")


@dataclass(frozen=True)
class _Rows:
    """The rows of one input within the prediction of a whole batch."""

    prediction: Prediction
    start: int
    stop: int


class BatchedPredictor:
    """A thread-safe, micro-batched stand-in for ``classifier.predict``.

    Args:
        classifier: the deployable classifier (sequence or token classification).
        options: batch size, wait and queue bound; the defaults of :class:`BatchingOptions`.

    Raises:
        TypeError: ``classifier`` is not an :class:`AlienClassifier` or ``options`` not
            :class:`BatchingOptions`.

    Example::

        with BatchedPredictor(AlienClassifier.load("models/deployable")) as predictor:
            prediction = predictor.predict(["a gripping film"])  # from many threads at once
    """

    def __init__(self, classifier: AlienClassifier, *, options: BatchingOptions | None = None) -> None:
        if not isinstance(classifier, AlienClassifier):
            raise TypeError(f"classifier must be an AlienClassifier, got {type(classifier).__name__}")
        if options is not None and not isinstance(options, BatchingOptions):
            raise TypeError(f"options must be BatchingOptions, got {type(options).__name__}")
        self.classifier = classifier
        self.options = options or BatchingOptions()
        self._token = get_task(classifier.task).is_token
        self.batcher: MicroBatcher[Any, _Rows] = MicroBatcher(self._predict_rows, **asdict(self.options))

    @property
    def task(self) -> str:
        """The classifier's task."""
        return self.classifier.task

    @property
    def label_names(self) -> tuple[str, ...]:
        """The classifier's class names."""
        return self.classifier.label_names

    def predict(
        self, inputs: Sequence[str] | Sequence[Sequence[str]], *, batch_size: int | None = None
    ) -> Prediction:
        """Labels, probabilities and ALIEN uncertainty of ``inputs``, as ``classifier.predict`` gives.

        Args:
            inputs: texts, or lists of words for token classification.
            batch_size: accepted so the predictor drops in where a classifier is expected
                (:func:`alien.tracking.pyfunc_io.predictions_frame`); forwards hold up to
                ``options.max_batch`` inputs, whatever it says.

        Returns:
            A :class:`Prediction` of these inputs only (token tasks: ``example_ids`` index them).

        Raises:
            ValueError: no inputs, or ``batch_size < 1``.
            TypeError: an input of the wrong type (checked here, before it can join a batch).
            QueueFullError: too many requests are waiting.
            BatcherClosedError: the predictor is closed.
        """
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        check_predict_inputs(inputs, self.classifier.task)
        return self._assemble(self.batcher.submit(list(inputs)))

    def close(self) -> None:
        """Stop the worker; waiting calls fail with ``BatcherClosedError``."""
        self.batcher.close()

    def __enter__(self) -> BatchedPredictor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _predict_rows(self, inputs: list[Any]) -> list[_Rows]:
        """One ``predict`` for the inputs of several calls; each input's row range in it."""
        pred = self.classifier.predict(inputs, batch_size=self.options.max_batch)
        if not self._token:
            return [_Rows(pred, i, i + 1) for i in range(len(inputs))]
        if pred.example_ids is None:
            raise RuntimeError("a token prediction without example_ids")
        # example_ids ascend (predict keeps input order), so each input's rows are one range
        bounds = np.searchsorted(pred.example_ids, np.arange(len(inputs) + 1), side="left")
        return [_Rows(pred, int(bounds[i]), int(bounds[i + 1])) for i in range(len(inputs))]

    def _assemble(self, rows: list[_Rows]) -> Prediction:
        """One call's :class:`Prediction` from its inputs' rows (adjacent ranges merged)."""
        spans: list[_Rows] = []
        for r in rows:
            last = spans[-1] if spans else None
            if last is not None and last.prediction is r.prediction and last.stop == r.start:
                spans[-1] = _Rows(r.prediction, last.start, r.stop)
            else:
                spans.append(r)
        columns = {
            name: np.concatenate([getattr(s.prediction, name)[s.start : s.stop] for s in spans])
            for name in _ROW_FIELDS
        }
        example_ids = word_ids = None
        if self._token:
            sizes = [r.stop - r.start for r in rows]
            example_ids = np.repeat(np.arange(len(rows), dtype=np.int64), sizes)
            word_ids = np.concatenate(
                [s.prediction.word_ids[s.start : s.stop] for s in spans if s.prediction.word_ids is not None]
            )
        return Prediction(
            **columns, label_names=self.classifier.label_names, example_ids=example_ids, word_ids=word_ids
        )
