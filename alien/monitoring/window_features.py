"""Feature drift of served rows: the features of the logged texts, and what to say when there are none.

The log keeps no representation of an input, only its text when ``monitor.log_text``
is true. The monitor therefore asks a featurizer (the champion's deployable, see
:func:`alien.serving.features.deployable_featurizer`; passed in, so this package
loads no model) for the features of the logged texts, once per distinct text, and
tests each window against the champion's test split with
:func:`alien.monitoring.drift.feature_drift` on :data:`N_COMPONENTS` principal
components. Rows logged without their text (hash only) have no features: they are
left out of the test, and a log with no text at all is not tested, with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
Featurizer = Callable[[Sequence[str]], Any]

N_COMPONENTS = 8
"""Principal components of the test split's features that feature drift tests (one KS test each).

Why a few components and not every dimension: the head reads 384 to 1024 dimensions
(by backbone), and Bonferroni over all of them divides the level by that many, so a
shift spread thinly over many correlated dimensions goes unseen. A fine-tuned
classifier's features put most of their variance in a few directions (the C - 1 class
directions among them: 5 for TREC's 6 classes), which 8 components cover with room
to spare, at a Bonferroni factor of 8. Rabanser et al., "Failing Loudly" (NeurIPS
2019), test such a PCA-reduced representation with per-component KS tests and
Bonferroni, the scheme used here. The axes are fitted on the reference alone, so
every window is tested on the same directions and the false-alarm rate stays at
most the level. What it misses: a shift that lives only in the low-variance
directions (drift of ``u`` and the late labels are the other checks).
"""

NO_TEXT = "feature drift not tested: the log keeps no text; set monitor.log_text: true"


def describe_test(n_encoded: int, n_rows: int, source: str) -> str:
    """The run's note naming the feature test (one line)."""
    kept = "" if n_encoded == n_rows else f" (the {n_encoded} of {n_rows} rows that kept their text)"
    return (
        f"feature drift: two-sample KS on the top {N_COMPONENTS} principal components of the "
        f"test split's features, Bonferroni-corrected, against the window's rows{kept} "
        f"encoded by {source}"
    )


def logged_features(
    frame: pd.DataFrame, *, reference_features: Any, featurize: Featurizer, source: str = "the deployable"
) -> tuple[FloatArray | None, str]:
    """The features of ``frame``'s rows, aligned with it, and the note for the run.

    Args:
        frame: the log's rows (a ``text`` column, None where only the hash was kept).
        reference_features: ``(N, D)`` the test split's features.
        featurize: texts -> ``(len(texts), D)`` features (:func:`alien.serving.features.served_features`).
        source: the model that encodes the texts, in words (for the note).

    Returns:
        ``(features, note)``: ``(len(frame), D)`` with NaN rows where a row has no
        text, and the note naming the test; or ``(None, why)`` when nothing is tested
        (no text in the log, or features of another dimension than the reference's).

    Raises:
        ValueError: ``featurize`` returned the wrong number of rows or a non-2-D array.
    """
    has_text = frame["text"].notna().to_numpy() if "text" in frame.columns else np.zeros(len(frame), bool)
    if not has_text.any():
        return None, NO_TEXT
    texts = frame.loc[has_text, "text"].astype(str).to_numpy()
    distinct, inverse = np.unique(texts, return_inverse=True)  # a repeated text is encoded once
    computed = np.asarray(featurize([str(t) for t in distinct]), dtype=np.float64)
    if computed.ndim != 2 or computed.shape[0] != distinct.size:
        raise ValueError(f"featurize returned shape {computed.shape} for {distinct.size} texts")
    dim = int(np.shape(reference_features)[1])
    if computed.shape[1] != dim:
        return None, (
            f"feature drift not tested: {source} gives {computed.shape[1]}-dimensional features, the "
            f"test split's have {dim} (rerun the pipeline so both come from one model)"
        )
    out = np.full((len(frame), dim), np.nan)
    out[has_text] = computed[inverse.reshape(-1)]
    return out, describe_test(int(has_text.sum()), len(frame), source)
