"""Stage ``features``: one frozen forward pass of the fine-tuned backbone over every split.

Writes ``<paths.features>/<split>.safetensors`` (a :class:`~alien.core.feature_set.FeatureSet`
per split), cached once for ALIEN, the baselines and the evaluation.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alien.backbones.loading import load_finetuned
from alien.config import BackboneConfig, DataConfig, PathsConfig
from alien.core.capture import extract_features
from alien.core.feature_set import FeatureSet
from alien.data.io import SPLITS, atomic_directory, read_split


@dataclass(frozen=True)
class FeaturesResult:
    rows: dict[str, int]
    feature_dim: int
    num_classes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_inputs(records: list[dict[str, Any]], task: str) -> tuple[list[Any], list[Any]]:
    """Model inputs and labels of prepared records (texts for sequences, words for tokens)."""
    if task == "token-classification":
        return [r["tokens"] for r in records], [r["tags"] for r in records]
    return [r["text"] for r in records], [r["label"] for r in records]


def feature_path(paths: PathsConfig, split: str) -> Path:
    """Where the cached features of ``split`` live."""
    return Path(paths.features) / f"{split}.safetensors"


def load_split_features(paths: PathsConfig, split: str) -> FeatureSet:
    """Load one split's cached features, with an error naming the stage to run if absent."""
    path = feature_path(paths, split)
    if not path.is_file():
        raise FileNotFoundError(f"no cached features for split {split!r} at {path}; run the features stage")
    return FeatureSet.load(path)


def run(data: DataConfig, backbone: BackboneConfig, paths: PathsConfig) -> FeaturesResult:
    """Extract features for every prepared split."""
    start = time.perf_counter()
    model, tokenizer = load_finetuned(paths.backbone, task=data.task)
    prepared = Path(paths.prepared)
    rows: dict[str, int] = {}
    dim = classes = 0
    with atomic_directory(paths.features) as tmp:
        for split in SPLITS:
            if not (prepared / f"{split}.jsonl").is_file():
                continue
            inputs, labels = split_inputs(read_split(prepared, split), data.task)
            fs = extract_features(
                model,
                tokenizer,
                inputs,
                labels,
                task=data.task,
                max_length=backbone.max_length,
                progress=True,
            )
            fs.save(tmp / f"{split}.safetensors")
            rows[split] = len(fs)
            dim, classes = int(fs.features.shape[1]), fs.num_classes
    return FeaturesResult(
        rows=rows, feature_dim=dim, num_classes=classes, seconds=round(time.perf_counter() - start, 2)
    )


def main() -> None:
    from alien.stages._cli import run_stage

    run_stage(lambda p: run(p.data, p.backbone, p.paths))


if __name__ == "__main__":
    main()
