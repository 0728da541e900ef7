"""Stage ``align``: fit the ALIEN head on cached features and save the deployable model.

The head is a copy of the fine-tuned classifier's head (so it starts at the
backbone's own entropy), trained on ``align.train_split`` (a held-out alignment
split by default, or the backbone's own train split for the paper's protocol),
selected on validation only. Then the served calibration map g(u) ~= P(error)
and the risk-controlled abstention rule are fitted on ``calibration.split``
(held-out rows the head was not trained on; never test). Writes
``paths.deployable`` (backbone + classifier + ALIEN head + calibration,
loadable by :class:`~alien.core.model.AlienClassifier`) and ``paths.grid``
(every grid configuration's validation score, the winner, and the calibration fit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from alien.backbones.loading import load_finetuned
from alien.calibration import Calibrator
from alien.config.align import AlignConfig
from alien.config.backbone import BackboneConfig
from alien.config.calibration import CalibrationConfig
from alien.config.data import DataConfig
from alien.config.paths import PathsConfig
from alien.core.abstention import AbstentionRule
from alien.core.calibrate import choose_calibration_method, fit_calibration
from alien.core.distance import DistanceTemperature
from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.head_builder import build_alien_head
from alien.core.layers import LayerLogits, head_inputs
from alien.core.model import AlienClassifier
from alien.data.io import read_labels, write_json
from alien.options.names import AUTO_CALIBRATION
from alien.pipeline.cli import StageResult, stage_cli
from alien.stages.artifacts import feature_path, load_split_features
from alien.training import fit_alien


@dataclass(frozen=True)
class AlignResult(StageResult):
    """What ``align`` fitted: the split it trained on, the grid's winner, the head's size."""

    train_split: str
    train_rows: int
    train_errors: int
    validation_rows: int
    validation_errors: int
    initial_val_auroc: float
    best_val_auroc: float
    best: dict[str, Any]
    head_parameters: int
    calibration: dict[str, Any]
    seconds: float


def _check_splits(align: AlignConfig, calibration: CalibrationConfig, paths: PathsConfig) -> None:
    if calibration.split == align.train_split:
        raise ValueError(
            f"calibration.split={calibration.split!r} is the split the head is trained on "
            f"(align.train_split); calibrate on held-out rows (validation)"
        )
    if not feature_path(paths, align.train_split).is_file():
        hint = (
            " (data.alignment_fraction is 0, so there is no alignment split: set it > 0 "
            "or align.train_split: train)"
            if align.train_split == "alignment"
            else ""
        )
        raise ValueError(f"align.train_split={align.train_split!r} has no cached features{hint}")


def _calibrate(
    head: torch.nn.Module, held_out: FeatureSet, calibration: CalibrationConfig
) -> tuple[Calibrator | None, AbstentionRule, dict[str, Any]]:
    """The served calibration map and abstention rule, fitted on the held-out rows' raw head output.

    With ``method: auto`` the map is chosen on the same rows by cross-validation first; the
    third value records the choice (and every candidate's cross-validated Brier).
    """
    with torch.inference_mode():
        raw_u = head.eval()(head_inputs(head, held_out)).double().numpy()
    errors = held_out.errors.numpy()
    method, chosen = calibration.method, {}
    if method == AUTO_CALIBRATION:
        method, cv_brier = choose_calibration_method(raw_u, errors)
        chosen = {"chosen": method, "cv_brier": cv_brier}
    calibrator, rule = fit_calibration(
        raw_u, errors, method=method, target_risk=calibration.target_risk,
        delta=calibration.delta, split=calibration.split,
    )  # fmt: skip
    return calibrator, rule, chosen


def _initial_head(
    model: torch.nn.Module, align: AlignConfig, paths: PathsConfig, head_rows: FeatureSet
) -> AlienHead:
    """The copied classifier head, with zero-initialised distance and layer inputs when ``align`` asks.

    The distances' Gaussians are fitted on the backbone's train split, their standardisation and
    the layers' on the head's own training rows; no validation or test row.
    """
    temperature = layers = None
    if align.distance_inputs:
        backbone_train = load_split_features(paths, "train")
        temperature = DistanceTemperature.fit(
            backbone_train.features, backbone_train.labels, head_rows.features, align.distance_inputs
        )
    if align.layers:
        if head_rows.layer_ids != align.layers:
            raise ValueError(
                f"align.layers is {list(align.layers)} but the cached features hold layers "
                f"{list(head_rows.layer_ids) or 'none'}; re-run the features stage"
            )
        layers = LayerLogits.fit(
            head_rows.head_inputs, tap=head_rows.features.shape[1], layers=align.layers,
            classes=head_rows.num_classes,
        )  # fmt: skip
    return build_alien_head(model, kind=align.uncertainty, temperature=temperature, layers=layers)


def run(
    align: AlignConfig,
    calibration: CalibrationConfig,
    backbone: BackboneConfig,
    data: DataConfig,
    paths: PathsConfig,
) -> AlignResult:
    """Fit the head by grid search, calibrate it, and save the deployable model.

    Raises:
        ValueError: the configured training or calibration split has no cached features,
            or calibration.split is the split the head was trained on.
    """
    start = time.perf_counter()
    _check_splits(align, calibration, paths)
    train = load_split_features(paths, align.train_split)
    validation = load_split_features(paths, "validation")

    model, tokenizer = load_finetuned(paths.backbone, task=data.task)
    head = _initial_head(model, align, paths, train)
    result = fit_alien(head, train, validation, align, progress=True)  # the section is a GridSearch

    held_out = (
        validation if calibration.split == "validation" else load_split_features(paths, calibration.split)
    )
    calibrator, rule, chosen = _calibrate(result.head, held_out, calibration)
    classifier = AlienClassifier(
        model,
        tokenizer,
        result.head,
        label_names=read_labels(paths.prepared),
        max_length=backbone.max_length,
        task=data.task,
        calibrator=calibrator,
        abstention=rule,
    )
    classifier.save(paths.deployable)
    fitted = {
        "method": calibration.method, "split": calibration.split, "rows": len(held_out),
        "abstention": rule.to_dict(), **chosen,
    }  # fmt: skip
    grid = result.to_dict()
    grid["train_split"] = align.train_split
    grid["calibration"] = fitted
    write_json(Path(paths.grid), grid)
    return AlignResult(
        train_split=align.train_split,
        train_rows=len(train),
        train_errors=int(train.errors.sum()),
        validation_rows=len(validation),
        validation_errors=int(validation.errors.sum()),
        initial_val_auroc=float(result.initial_val_auroc),
        best_val_auroc=float(result.best.val_auroc),
        best=result.best.to_dict(),
        head_parameters=result.head.num_parameters(),
        calibration=fitted,
        seconds=round(time.perf_counter() - start, 2),
    )


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
