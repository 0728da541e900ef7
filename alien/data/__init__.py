"""Data: sources (packaged, local, hub), validation, stable splits, and prepared-split readers."""

from alien.data.dataset import RawDataset, meta_path, read_raw, write_raw
from alien.data.io import SPLITS, read_labels, read_split, read_summary
from alien.data.sources import load_source

__all__ = [
    "SPLITS",
    "RawDataset",
    "load_source",
    "meta_path",
    "read_labels",
    "read_raw",
    "read_split",
    "read_summary",
    "write_raw",
]
