"""CoNLL token/tag parsing."""

from __future__ import annotations

import pytest

from alien.data.conll import parse_conll


def test_blank_and_whitespace_lines_separate_sentences() -> None:
    text = "-DOCSTART- -X- O O\n\nEU NNP B-ORG\nrejects VBZ O\n \nPeter\tB-PER\r\n"
    assert parse_conll(text) == [
        {"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]},
        {"tokens": ["Peter"], "tags": ["B-PER"]},
    ]


def test_a_line_without_a_tag_is_reported_with_its_number() -> None:
    with pytest.raises(ValueError, match=r"f\.conll:3: expected 'token<TAB>tag', got 'lonely'"):
        parse_conll("a\tO\nb\tO\nlonely\n", source="f.conll")


def test_an_empty_file_is_rejected() -> None:
    with pytest.raises(ValueError, match="no sentences found"):
        parse_conll("\n\n", source="empty.conll")
