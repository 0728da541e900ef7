"""dvc.lock is parsed once per state of the file, and a rewritten lock is read again."""

from __future__ import annotations

import os

from alien.pipeline.dvc_lock import locked_stages


def _write(root, md5: str) -> None:
    tmp = root / "dvc.lock.tmp"
    tmp.write_text(f"schema: '2.0'\nstages:\n  fetch:\n    outs:\n    - path: raw.jsonl\n      md5: {md5}\n")
    os.replace(tmp, root / "dvc.lock")  # as DVC writes it: a new file in its place


def test_the_lock_is_parsed_once_and_read_again_once_rewritten(tmp_path):
    assert locked_stages(tmp_path) == {}
    _write(tmp_path, "a" * 32)
    first = locked_stages(tmp_path)
    assert first["fetch"]["outs"][0]["md5"] == "a" * 32
    assert locked_stages(tmp_path) is first  # the same parse, not another
    _write(tmp_path, "b" * 32)
    assert locked_stages(tmp_path)["fetch"]["outs"][0]["md5"] == "b" * 32
    (tmp_path / "dvc.lock").unlink()
    assert locked_stages(tmp_path) == {}
