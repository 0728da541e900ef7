"""What the served model refuses (a client error naming the row) and what it returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from alien.core.model import AlienClassifier
from alien.tracking.pyfunc import AlienPyfuncModel
from alien.tracking.pyfunc_io import (
    MODEL_VERSION_COLUMN,
    OUTPUT_COLUMNS,
    InvalidInput,
    predictions_frame,
    validate_texts,
)
from tests.tiny import tiny_model, tiny_tokenizer


@pytest.mark.parametrize(
    ("texts", "needle"),
    [
        (["fine", None], r"rows 1 \(null\)"),
        ([3.5, "x"], r"rows 0 \(float\)"),
        (["ok", "", "  \t"], r"2 row\(s\) .* empty or blank: rows \[1, 2\]"),
        ([], "no rows"),
    ],
)
def test_bad_rows_are_named(texts, needle):
    with pytest.raises(InvalidInput, match=needle):
        validate_texts(pd.DataFrame({"text": pd.Series(texts, dtype=object)}))


def test_a_null_text_is_a_400_not_the_string_none():
    model = AlienPyfuncModel()
    model.classifier = AlienClassifier.from_model(tiny_model("bert"), tiny_tokenizer(), max_length=16)
    with pytest.raises(MlflowException, match=r"not strings: rows 0 \(null\)") as err:
        model.predict(None, pd.DataFrame({"text": [None]}))  # type: ignore[arg-type]
    assert err.value.get_http_status_code() == 400
    assert "Traceback" not in str(err.value) and "/" not in err.value.message


def test_a_server_fault_is_a_500_without_a_stack_trace():
    model = AlienPyfuncModel()  # no classifier loaded: a fault of the server, not of the request
    with pytest.raises(MlflowException) as err:
        model.predict(None, pd.DataFrame({"text": ["hello"]}))  # type: ignore[arg-type]
    assert err.value.get_http_status_code() == 500
    assert "Traceback" not in err.value.message


def test_output_carries_calibrated_raw_and_abstain_columns():
    clf = AlienClassifier.from_model(tiny_model("bert"), tiny_tokenizer(), max_length=16)
    out = predictions_frame(clf, ["a warm film", "boring"])
    assert tuple(out.columns) == (*OUTPUT_COLUMNS, MODEL_VERSION_COLUMN)
    assert out[MODEL_VERSION_COLUMN].isna().all()  # not registered
    pred = clf.predict(["a warm film", "boring"])
    np.testing.assert_array_equal(out["raw_uncertainty"], pred.raw_uncertainty)
    assert out["abstain"].dtype == bool and not out["abstain"].any()
