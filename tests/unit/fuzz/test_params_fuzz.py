"""Fuzz ``params.yaml``: documents generated around the shipped one load or raise ConfigError naming the key.

Every document is written as YAML and read by :func:`alien.config.load_params`,
the function pre-flight calls, so YAML's own readings ("1e-4" as a string,
``.inf``, ``null``) are part of what is fuzzed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from alien.config import ConfigError, Params, load_params
from tests.project import ROOT

SHIPPED: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "params.yaml").read_text())
SECTIONS = sorted(SHIPPED)
KEYS = [(section, key) for section in SECTIONS for key in sorted(SHIPPED[section])]
NUMERIC_KEYS = [
    (s, k) for s, k in KEYS if isinstance(SHIPPED[s][k], int | float) and not isinstance(SHIPPED[s][k], bool)
]

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", " ", "1e-4", "-1", "nan", ".inf", "null", "true", "package:nope", "~"])
)
GARBAGE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
# a value near the shipped one: out-of-range numbers, off-by-one, negatives, a number as a string
NEAR_NUMBER = st.one_of(
    st.floats(min_value=-2.0, max_value=2.0),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0, -1, 1, 10**9, 10**400, 1e-12, 0.5, 0.9, 1.0, 1.5, math.inf, -math.inf, math.nan]),
)


def load_text(text: str) -> Params:
    """Write ``text`` as params.yaml in a fresh folder and load it as pre-flight does."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "params.yaml"
        path.write_text(text)
        return load_params(path)


def load_doc(doc: Any) -> Params:
    return load_text(yaml.safe_dump(doc, allow_unicode=True))


def assert_loads_or_names(doc: Any, *names: str) -> Params | None:
    """The document loads, or raises ConfigError (never another type) whose message names ``names``."""
    try:
        params = load_doc(doc)
    except ConfigError as exc:
        message = str(exc)
        for name in names:
            assert name in message, f"{message!r} does not name {name!r}"
        return None
    assert_well_typed(params)
    return params


def assert_well_typed(params: Params) -> None:
    """A document that loads gives sections whose values match their annotated types."""
    for section in dataclasses.fields(params):
        value = getattr(params, section.name)
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            assert not isinstance(item, dict | list), f"{section.name}.{field.name} = {item!r}"


def test_the_shipped_params_load() -> None:
    params = load_doc(SHIPPED)
    assert params.data.source == SHIPPED["data"]["source"]
    assert params.finetune.learning_rate == float(SHIPPED["finetune"]["learning_rate"])


@given(section=st.sampled_from(SECTIONS))
def test_a_dropped_section_is_named(section: str) -> None:
    doc = {name: value for name, value in SHIPPED.items() if name != section}
    assert assert_loads_or_names(doc, section) is None


@given(item=st.sampled_from(KEYS))
def test_a_dropped_key_is_named(item: tuple[str, str]) -> None:
    section, key = item
    doc = copy.deepcopy(SHIPPED)
    del doc[section][key]
    assert assert_loads_or_names(doc, section, key) is None


@given(item=st.sampled_from(KEYS), value=GARBAGE)
def test_any_value_for_a_key_loads_or_is_named(item: tuple[str, str], value: Any) -> None:
    section, key = item
    doc = copy.deepcopy(SHIPPED)
    doc[section][key] = value
    assert_loads_or_names(doc, section, key)


@given(item=st.sampled_from(NUMERIC_KEYS), value=NEAR_NUMBER, as_string=st.booleans())
def test_numbers_out_of_range_or_as_strings_load_or_are_named(
    item: tuple[str, str], value: float, as_string: bool
) -> None:
    section, key = item
    doc = copy.deepcopy(SHIPPED)
    doc[section][key] = str(value) if as_string else value
    params = assert_loads_or_names(doc, section, key)
    if params is not None:
        loaded = getattr(getattr(params, section), key)
        assert isinstance(loaded, int | float) and not isinstance(loaded, bool), f"{section}.{key}={loaded!r}"
        if isinstance(loaded, float):  # ints have no inf/nan; a huge int for an int key loads
            assert math.isfinite(loaded), f"{section}.{key} accepted the non-finite value {loaded!r}"


@given(section=st.sampled_from(SECTIONS), key=st.text(min_size=1, max_size=10), value=GARBAGE)
def test_an_unknown_key_is_named(section: str, key: str, value: Any) -> None:
    doc = copy.deepcopy(SHIPPED)
    if key in doc[section]:
        return
    doc[section][key] = value
    (as_read,) = yaml.safe_load(yaml.safe_dump({key: 0}, allow_unicode=True))  # YAML reads NEL as " "
    assert assert_loads_or_names(doc, section, repr(as_read)) is None


@given(key=st.integers() | st.booleans() | st.none(), section=st.sampled_from(SECTIONS))
def test_a_non_string_key_is_refused(key: Any, section: str) -> None:
    doc = copy.deepcopy(SHIPPED)
    doc[section] = {**doc[section], key: 1}
    assert assert_loads_or_names(doc, section, repr(key)) is None


@given(section=st.sampled_from(SECTIONS), value=GARBAGE.filter(lambda v: not isinstance(v, dict)))
def test_a_section_that_is_not_a_mapping_is_named(section: str, value: Any) -> None:
    doc = copy.deepcopy(SHIPPED)
    doc[section] = value
    assert assert_loads_or_names(doc, section) is None


@given(
    mutations=st.lists(st.tuples(st.sampled_from(KEYS), GARBAGE), min_size=2, max_size=5),
    extra=st.dictionaries(st.text(min_size=1, max_size=6), GARBAGE, max_size=2),
)
def test_several_broken_sections_raise_only_config_errors(
    mutations: list[tuple[tuple[str, str], Any]], extra: dict[str, Any]
) -> None:
    doc = copy.deepcopy(SHIPPED)
    for (section, key), value in mutations:
        doc[section][key] = value
    doc.update({k: v for k, v in extra.items() if k not in doc})
    try:
        load_doc(doc)
    except ConfigError as exc:
        touched = {section for (section, _), _ in mutations} | set(extra)
        assert any(name in str(exc) for name in touched), str(exc)


@given(text=st.text(max_size=200))
def test_any_text_as_the_file_loads_or_raises_config_error(text: str) -> None:
    try:
        load_text(text)
    except ConfigError as exc:
        assert str(exc).strip()
