"""The deployable model: a fine-tuned classifier plus its ALIEN head, in one backbone forward.

The ALIEN head gives u from the captured features; an optional monotone calibration map turns u
into a probability of error and an optional abstention rule flags the rows to refuse. Saved as
plain files (safetensors + JSON): see :mod:`alien.core.deployable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoTokenizer as _AutoTokenizer
from transformers import PreTrainedModel, PreTrainedTokenizerBase

import alien
from alien.assets.atomic import atomic_directory
from alien.calibration import Calibrator
from alien.core import head_builder
from alien.core.abstention import AbstentionRule
from alien.core.capture import capture_features, check_task, encode, frozen
from alien.core.deployable import (
    BACKBONE_DIR,
    CALIBRATION_FILE,
    CONFIG_FILE,
    FORMAT_VERSION,
    HEAD_FILE,
    calibration_document,
    read_calibration,
    read_metadata,
    write_json,
)
from alien.core.ensemble import AlienHeadEnsemble
from alien.core.entities import Aggregate, Entity, entities_per_example
from alien.core.head import AlienHead
from alien.core.head_builder import build_alien_head, head_spec, num_labels_of
from alien.core.layers import layers_of
from alien.core.prediction import Prediction, check_predict_inputs
from alien.core.tokenization import IGNORE_INDEX
from alien.core.uncertainty import UncertaintyKind
from alien.task import TaskName, get_task


class AlienClassifier:
    """A fine-tuned classifier with an ALIEN uncertainty head.

    Args:
        model: the fine-tuned Hugging Face classifier (LoRA merged).
        tokenizer: its tokenizer.
        head: an :class:`AlienHead` built from ``model`` (trained or not), or an ensemble of several.
        label_names: the ``C`` class names.
        max_length: truncation length in tokens (use the one the features were extracted with).
        task: ``"sequence-classification"`` or ``"token-classification"``.
        calibrator: a fitted monotone map g with g(u) ~= P(error) (:mod:`alien.calibration`);
            ``predict`` then reports g(u) as the uncertainty and keeps u as ``raw_uncertainty``.
        abstention: the rule that sets ``Prediction.abstain`` from the (calibrated) uncertainty.

    Raises:
        ValueError: the head, label names or task do not fit the model.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        head: AlienHead | AlienHeadEnsemble,
        *,
        label_names: Sequence[str],
        max_length: int,
        task: TaskName = "sequence-classification",
        calibrator: Calibrator | None = None,
        abstention: AbstentionRule | None = None,
    ) -> None:
        check_task(model, task)
        spec = head_spec(model)
        num_labels = num_labels_of(model)
        if head.family != spec.family or head.num_labels != num_labels:
            raise ValueError(
                f"head (family {head.family!r}, {head.num_labels} labels) does not fit "
                f"{type(model).__name__} (family {spec.family!r}, {num_labels} labels)"
            )
        if len(label_names) != num_labels or not all(isinstance(n, str) for n in label_names):
            raise ValueError(f"label_names must be {num_labels} strings, got {list(label_names)!r}")
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.head = head.to(next(model.parameters()).device).eval()
        self.label_names = tuple(label_names)
        self.max_length = int(max_length)
        self.task: TaskName = task
        self.calibrator = calibrator
        self.abstention = abstention
        self._spec = spec
        self._layers = getattr(layers_of(self.head), "layers", ())  # earlier layers the head reads

    @classmethod
    def from_model(
        cls,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        max_length: int,
        label_names: Sequence[str] | None = None,
        task: TaskName = "sequence-classification",
        kind: UncertaintyKind = "entropy",
    ) -> AlienClassifier:
        """Wrap ``model`` with an untrained head (its uncertainty is the model's own entropy).

        ``label_names`` default to ``model.config.id2label``.
        """
        if label_names is None:
            id2label: dict[Any, str] = dict(getattr(model.config, "id2label", None) or {})
            label_names = [str(id2label.get(i, f"LABEL_{i}")) for i in range(num_labels_of(model))]
        head = build_alien_head(model, kind=kind)
        return cls(model, tokenizer, head, label_names=label_names, max_length=max_length, task=task)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and uncertainty of a tokenised batch from one backbone forward.

        Shapes: ``(B, C)`` and ``(B,)``; token tasks ``(B, L, C)`` and ``(B, L)``.
        Call under ``torch.inference_mode()`` for serving.
        """
        z, logits = capture_features(self.model, batch, spec=self._spec, layers=self._layers)
        u = self.head(z.reshape(-1, z.shape[-1]).float())
        return logits, u.reshape(logits.shape[:-1])

    def predict(self, inputs: Sequence[str] | Sequence[Sequence[str]], *, batch_size: int = 32) -> Prediction:
        """Labels, probabilities and ALIEN uncertainty.

        Args:
            inputs: texts, or lists of words for token classification (one row
                per word that survives truncation, on its first sub-token).
            batch_size: examples per backbone forward.

        Returns:
            A :class:`Prediction`.

        Raises:
            ValueError: empty input or ``batch_size < 1``.
            TypeError: an input of the wrong type.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        check_predict_inputs(inputs, self.task)
        token = get_task(self.task).is_token
        device = next(self.model.parameters()).device
        parts: dict[str, list[torch.Tensor]] = {"logits": [], "u": [], "example_ids": [], "word_ids": []}
        with frozen(self.model):
            for start in range(0, len(inputs), batch_size):
                chunk = inputs[start : start + batch_size]
                batch = encode(self.tokenizer, chunk, task=self.task, max_length=self.max_length)
                batch = {k: v.to(device) for k, v in batch.items()}
                logits, u = self.forward(batch)
                if token:
                    # encode() put each word's index on its first sub-token.
                    keep = batch["labels"] != IGNORE_INDEX
                    rows = torch.arange(start, start + len(chunk), device=device)[:, None].expand_as(keep)
                    logits, u = logits[keep], u[keep]
                    parts["example_ids"].append(rows[keep].cpu())
                    parts["word_ids"].append(batch["labels"][keep].cpu())
                parts["logits"].append(logits.float().cpu())
                parts["u"].append(u.float().cpu())
        logits = torch.cat(parts["logits"])
        raw = torch.cat(parts["u"]).numpy().astype(np.float64)
        calibrated = raw if self.calibrator is None else np.asarray(self.calibrator(raw), dtype=np.float64)
        abstain = (
            np.zeros(raw.shape, dtype=bool)
            if self.abstention is None
            else self.abstention.abstain(calibrated)
        )
        return Prediction(
            labels=logits.argmax(dim=-1).numpy().astype(np.int64),
            probabilities=torch.softmax(logits, dim=-1).numpy(),
            uncertainty=calibrated,
            raw_uncertainty=raw,
            abstain=abstain,
            label_names=self.label_names,
            example_ids=torch.cat(parts["example_ids"]).numpy() if token else None,
            word_ids=torch.cat(parts["word_ids"]).numpy() if token else None,
        )

    def predict_entities(
        self, inputs: Sequence[Sequence[str]], *, batch_size: int = 32, aggregate: Aggregate = "max"
    ) -> list[list[Entity]]:
        """Entities of each input (a list of words), each with an aggregated ALIEN uncertainty.

        Words cut off by ``max_length`` belong to no entity; see :mod:`alien.core.entities`.

        Raises:
            ValueError: not a token-classification model, its tags are not BIO, or see :meth:`predict`.
        """
        if not get_task(self.task).is_token:
            raise ValueError(
                f"predict_entities needs a token-classification model, this one is {self.task!r}"
            )
        pred = self.predict(inputs, batch_size=batch_size)
        if pred.example_ids is None or pred.word_ids is None:
            raise RuntimeError("a token prediction without example_ids/word_ids")
        return entities_per_example(
            inputs,
            pred.labels,
            pred.uncertainty,
            pred.example_ids,
            pred.word_ids,
            self.label_names,
            aggregate=aggregate,
        )

    def parameter_overhead(self) -> dict[str, float]:
        """Head parameters, backbone parameters (classifier included) and the head's share in percent."""
        head = self.head.num_parameters()
        backbone = sum(p.numel() for p in self.model.parameters())
        return {
            "head_parameters": head,
            "backbone_parameters": backbone,
            "overhead_percent": 100.0 * head / backbone,
        }

    def metadata(self) -> dict[str, Any]:
        """What :meth:`save` writes to ``alien.json``."""
        return {
            "format_version": FORMAT_VERSION,
            "alien_version": alien.__version__,
            "family": self.head.family,
            "kind": self.head.kind,
            "eps": self.head.eps,
            "members": len(self.head) if isinstance(self.head, AlienHeadEnsemble) else 1,
            "distance": head_builder.distance_description(self.head),
            "layers": head_builder.layers_description(self.head),
            "num_labels": self.num_labels,
            "label_names": list(self.label_names),
            "max_length": self.max_length,
            "task": self.task,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the backbone, tokenizer, head, metadata and calibration; all or nothing.

        See :mod:`alien.core.deployable` for the layout.
        """
        with atomic_directory(directory) as tmp:
            self.model.save_pretrained(tmp / BACKBONE_DIR)
            self.tokenizer.save_pretrained(tmp / BACKBONE_DIR)
            state = {k: v.detach().cpu().contiguous().clone() for k, v in self.head.state_dict().items()}
            save_file(state, str(tmp / HEAD_FILE), metadata={"format": "alien-head"})
            write_json(tmp / CONFIG_FILE, self.metadata())
            if self.calibrator is not None or self.abstention is not None:
                write_json(tmp / CALIBRATION_FILE, calibration_document(self.calibrator, self.abstention))
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, *, device: str | torch.device = "cpu") -> AlienClassifier:
        """Rebuild a classifier written by :meth:`save` (safetensors only, no remote code).

        Raises:
            FileNotFoundError: a file of the layout is missing.
            ValueError: an unknown format version or a head that does not fit the backbone.
        """
        directory = Path(directory)
        for name in (HEAD_FILE, BACKBONE_DIR):
            if not (directory / name).exists():
                raise FileNotFoundError(
                    f"{directory / name} is missing; is {directory} an AlienClassifier folder?"
                )
        meta = read_metadata(directory)
        auto = get_task(meta["task"]).auto_model_class()
        model = cast(
            PreTrainedModel,
            auto.from_pretrained(directory / BACKBONE_DIR, use_safetensors=True, trust_remote_code=False),
        )
        model = cast(PreTrainedModel, cast(nn.Module, model).to(device)).eval()
        tokenizer = _AutoTokenizer.from_pretrained(directory / BACKBONE_DIR, trust_remote_code=False)
        members = head_builder.heads_from_metadata(model, meta)
        head: AlienHead | AlienHeadEnsemble = members[0] if len(members) == 1 else AlienHeadEnsemble(members)
        if head.family != meta["family"]:
            raise ValueError(
                f"{directory} says family {meta['family']!r} but the backbone is {head.family!r}"
            )
        head.load_state_dict(load_file(str(directory / HEAD_FILE)), strict=True)
        calibrator, abstention = read_calibration(directory)
        return cls(
            model,
            tokenizer,
            head,
            label_names=meta["label_names"],
            max_length=int(meta["max_length"]),
            task=meta["task"],
            calibrator=calibrator,
            abstention=abstention,
        )
