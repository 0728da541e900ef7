"""Turning a GGUF checkpoint into a plain float32 Hugging Face folder, once.

``transformers`` can read a (quantised) GGUF file, but dequantising takes tens
of seconds and a GGUF-loaded model refuses ``save_pretrained``. So the model is
loaded from the GGUF file once, its state dict poured into a model rebuilt from
the same config, and that model saved as safetensors together with the
tokenizer GGUF carries. Every later load reads the fp32 folder (under a second
for a 135M decoder) and can become any ``AutoModelFor...`` head.

Needs the ``gguf`` package (imported only here, on first use).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from alien.assets.atomic import atomic_directory


def dequantize_gguf(gguf_path: str | Path, destination: str | Path) -> float:
    """Write ``gguf_path`` as a float32 Hugging Face folder (model + tokenizer) at ``destination``.

    The folder appears all at once (:func:`alien.assets.atomic.atomic_directory`);
    an existing ``destination`` is an error, not overwritten.

    Args:
        gguf_path: a ``.gguf`` file of a causal language model.
        destination: the folder to create.

    Returns:
        Seconds spent loading and dequantising the GGUF file.

    Raises:
        FileNotFoundError: ``gguf_path`` is not a file.
        FileExistsError: ``destination`` already exists.
        RuntimeError: the ``gguf`` package is not installed.
    """
    source = Path(gguf_path)
    target = Path(destination)
    if not source.is_file():
        raise FileNotFoundError(f"GGUF file not found: {source}")
    if target.exists():
        raise FileExistsError(f"{target} already exists; remove it to convert again")
    with atomic_directory(target) as staging:
        return write_dequantized(source, staging)


def write_dequantized(source: Path, folder: Path) -> float:
    """Write the float32 model and tokenizer of the GGUF file ``source`` into the existing ``folder``.

    Returns:
        Seconds spent loading and dequantising.

    Raises:
        RuntimeError: the ``gguf`` package is not installed.
    """
    if importlib.util.find_spec("gguf") is None:
        raise RuntimeError(f"reading {source.name} needs the 'gguf' package: pip install gguf")
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    seconds = time.perf_counter() - start
    # A fresh model from the same config, minus the GGUF quantization record, is an ordinary
    # float32 model: save_pretrained accepts it and Trainer/peft will train it.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return seconds
