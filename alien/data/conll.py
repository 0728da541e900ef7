"""CoNLL-style token/tag files: ``token<TAB>tag`` per line, a blank line between sentences.

Lines holding only whitespace (WNUT-16 separates tweets with a lone tab)
count as blank. Extra columns are allowed; the first is the token and the last
the tag, as in CoNLL-2003's ``token POS chunk NER`` layout (which is
space-separated: any whitespace separates columns when there is no tab).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def parse_conll(text: str, *, source: str = "<string>") -> list[dict[str, Any]]:
    """Parse CoNLL text into ``{"tokens": [...], "tags": [...]}`` records.

    Args:
        text: the file's content.
        source: a name for error messages.

    Returns:
        One record per sentence, in file order.

    Raises:
        ValueError: a non-blank line has fewer than two columns (the message
            gives its line number), or the file holds no sentence.

    >>> parse_conll("New\\tB-loc\\nYork\\tI-loc\\n\\t\\nhi\\tO\\n")
    [{'tokens': ['New', 'York'], 'tags': ['B-loc', 'I-loc']}, {'tokens': ['hi'], 'tags': ['O']}]
    """
    records: list[dict[str, Any]] = []
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if tokens:
                records.append({"tokens": tokens, "tags": tags})
                tokens, tags = [], []
            continue
        if line.startswith("-DOCSTART-"):
            continue
        columns = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
        if len(columns) < 2 or not columns[0].strip() or not columns[-1].strip():
            raise ValueError(
                f"{source}:{number}: expected 'token<TAB>tag', got {line!r}; "
                "CoNLL files need one token and its tag per line, a blank line between sentences"
            )
        tokens.append(columns[0].strip())
        tags.append(columns[-1].strip())
    if tokens:
        records.append({"tokens": tokens, "tags": tags})
    if not records:
        raise ValueError(f"{source}: no sentences found (is it a CoNLL token<TAB>tag file?)")
    return records


def read_conll(path: str | Path, *, encoding: str = "utf-8") -> list[dict[str, Any]]:
    """Read a CoNLL file from disk; see :func:`parse_conll`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CoNLL file not found: {path}")
    return parse_conll(path.read_text(encoding=encoding), source=str(path))
