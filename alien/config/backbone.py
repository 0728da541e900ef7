"""The ``backbone`` section: which pretrained classifier to fine-tune, and how it reads its input."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Bool, Int, Text


@dataclass(frozen=True, config=OPTIONS)
class BackboneConfig:
    """The backbone.

    Attributes:
        name: ``package:<name>``, a local Hugging Face folder or a hub id.
        max_length: tokens per input at most (longer inputs are truncated), in [8, 8192].
        allow_pickle: accept pickle checkpoints (``pytorch_model.bin``); safetensors otherwise.
    """

    name: Text = "package:minilm"
    max_length: Annotated[Int, Ge(8), Le(8192)] = 64
    allow_pickle: Bool = False
