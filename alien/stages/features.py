"""Stage ``features``: one frozen forward pass of the fine-tuned backbone over every split.

Writes ``<paths.features>/<split>.safetensors`` (a :class:`~alien.core.feature_set.FeatureSet`
per split), cached once for ALIEN, the baselines and the evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from alien.backbones.loading import load_finetuned
from alien.config.align import AlignConfig
from alien.config.backbone import BackboneConfig
from alien.config.data import DataConfig
from alien.config.paths import PathsConfig
from alien.core.capture import extract_features
from alien.core.layers import num_hidden_layers
from alien.data.io import SPLITS, atomic_directory, read_split
from alien.options.align import check_layers
from alien.pipeline.cli import StageResult, stage_cli
from alien.stages.artifacts import feature_path
from alien.task import get_task


@dataclass(frozen=True)
class FeaturesResult(StageResult):
    """What ``features`` wrote: rows per split and the feature shape."""

    rows: dict[str, int]
    feature_dim: int
    num_classes: int
    layers: list[int]
    seconds: float


def run(data: DataConfig, backbone: BackboneConfig, align: AlignConfig, paths: PathsConfig) -> FeaturesResult:
    """Extract features (and the pooled states of ``align.layers``) for every prepared split
    into ``paths.features`` (atomically). Of ``align`` it reads ``layers`` only.

    Raises:
        FileNotFoundError: the prepared data or the fine-tuned backbone is missing.
        ValueError: ``align.layers`` names a layer the backbone does not have.
    """
    start = time.perf_counter()
    task = get_task(data.task)
    model, tokenizer = load_finetuned(paths.backbone, task=data.task)
    layers = check_layers(align.layers, num_hidden_layers(model))  # before any forward pass
    prepared = Path(paths.prepared)
    rows: dict[str, int] = {}
    dim = classes = 0
    with atomic_directory(paths.features) as tmp:
        for split in SPLITS:
            if not (prepared / f"{split}.jsonl").is_file():
                continue
            inputs, labels = task.split_inputs(read_split(prepared, split))
            fs = extract_features(
                model,
                tokenizer,
                inputs,
                labels,
                task=data.task,
                max_length=backbone.max_length,
                progress=True,
                desc=f"features [{split}]",
                layers=layers,
            )
            fs.save(tmp / feature_path(paths, split).name)
            rows[split] = len(fs)
            dim, classes = int(fs.features.shape[1]), fs.num_classes
    return FeaturesResult(
        rows=rows,
        feature_dim=dim,
        num_classes=classes,
        layers=list(layers),
        seconds=round(time.perf_counter() - start, 2),
    )


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
