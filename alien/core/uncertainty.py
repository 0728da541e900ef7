"""Uncertainty scores computed from logits.

Both scores live in ``[0, 1]`` and grow with the chance that the prediction is
wrong, so they can be compared to the 0/1 error indicator directly:

* ``entropy`` (ALIEN): ``H(softmax(logits)) / log(C)``.
* ``smoothmax`` (AdUE, arXiv 2505.15443 v1): ``(1 - SmoothMax(p)) / (1 - 1/C)``
  with ``SmoothMax(p) = log(sum(exp(lam * p))) / lam``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

UncertaintyKind = Literal["entropy", "smoothmax"]
UNCERTAINTY_KINDS: tuple[str, ...] = ("entropy", "smoothmax")
SMOOTHMAX_LAMBDA = 100.0
CLAMP_EPS = 1e-6


def normalized_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Predictive entropy divided by ``log(C)``.

    Args:
        logits: ``(..., C)`` raw scores, ``C >= 2``.

    Returns:
        ``(...)`` values in ``[0, 1]``.

    >>> round(float(normalized_entropy(torch.zeros(1, 4))[0]), 6)
    1.0
    """
    log_p = torch.log_softmax(logits, dim=-1)
    entropy = -(log_p.exp() * log_p).sum(dim=-1)
    return entropy / math.log(logits.shape[-1])


def smoothmax_uncertainty(logits: torch.Tensor, *, lam: float = SMOOTHMAX_LAMBDA) -> torch.Tensor:
    """AdUE's normalised ``1 - SmoothMax(p)``.

    SmoothMax over-estimates ``max p`` by at most ``log(C)/lam``, so the result
    can dip slightly below 0 for confident predictions; callers clamp.

    Args:
        logits: ``(..., C)`` raw scores.
        lam: sharpness of the smooth maximum.

    Returns:
        ``(...)`` values, approximately in ``[0, 1]``.
    """
    num_classes = logits.shape[-1]
    probs = torch.softmax(logits, dim=-1)
    smooth_max = torch.logsumexp(lam * probs, dim=-1) / lam
    return (1.0 - smooth_max) / (1.0 - 1.0 / num_classes)


def uncertainty_from_logits(
    logits: torch.Tensor, *, kind: UncertaintyKind = "entropy", eps: float = CLAMP_EPS
) -> torch.Tensor:
    """The ALIEN head output ``u(x)`` for the given logits, clamped to ``[eps, 1 - eps]``.

    Args:
        logits: ``(..., C)`` raw scores.
        kind: ``"entropy"`` (ALIEN) or ``"smoothmax"`` (AdUE).
        eps: clamp margin keeping the BCE finite.

    Returns:
        ``(...)`` uncertainties.

    Raises:
        ValueError: unknown ``kind``.
    """
    if kind == "entropy":
        u = normalized_entropy(logits)
    elif kind == "smoothmax":
        u = smoothmax_uncertainty(logits)
    else:
        raise ValueError(f"unknown uncertainty kind {kind!r}; choose one of {UNCERTAINTY_KINDS}")
    return u.clamp(eps, 1.0 - eps)
