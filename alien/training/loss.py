"""The ALIEN training objective.

    L = BCE(u, e) + alpha * mean((u - u0)^2) + beta * sum_theta ||theta - theta0||^2

``e`` is the 0/1 error indicator of the backbone's prediction, ``u0`` the
backbone's own normalised uncertainty (the alignment target) and the last term
is L2-SP, an unnormalised sum over the head's trainable parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LossTerms:
    """The loss and its parts (0-d tensors; ``total`` carries the graph)."""

    total: torch.Tensor
    bce: torch.Tensor
    align: torch.Tensor
    l2sp: torch.Tensor


def alien_loss(
    u: torch.Tensor,
    u0: torch.Tensor,
    errors: torch.Tensor,
    params: Mapping[str, torch.Tensor],
    params0: Mapping[str, torch.Tensor],
    *,
    alpha: float | torch.Tensor,
    beta: float | torch.Tensor,
) -> LossTerms:
    """ALIEN loss of a batch.

    Args:
        u: ``(N,)`` head uncertainties, in ``(0, 1)`` (the head clamps them).
        u0: ``(N,)`` the backbone's original uncertainties.
        errors: ``(N,)`` 0/1 floats, 1 where the backbone's prediction is wrong.
        params: the head's current trainable parameters by name.
        params0: their initial values, same names and shapes.
        alpha: weight of the alignment term, ``>= 0``.
        beta: weight of the L2-SP term, ``>= 0``.

    Returns:
        The total and its three unweighted terms.

    Raises:
        ValueError: shape mismatch, empty batch, ``u`` outside ``(0, 1)``,
            ``errors`` not 0/1, mismatched parameter names or shapes, negative weights.

    >>> p = {"w": torch.tensor([1.0, 2.0])}
    >>> t = alien_loss(torch.tensor([0.5]), torch.tensor([0.5]), torch.tensor([1.0]),
    ...                p, {"w": torch.tensor([1.0, 0.0])}, alpha=1.0, beta=0.5)
    >>> round(float(t.bce), 4), float(t.align), float(t.l2sp), round(float(t.total), 4)
    (0.6931, 0.0, 4.0, 2.6931)
    """
    check_loss_inputs(u, u0, errors, params, params0, alpha=alpha, beta=beta)
    return loss_terms(u, u0, errors, params, params0, alpha=alpha, beta=beta)


def check_loss_inputs(
    u: torch.Tensor,
    u0: torch.Tensor,
    errors: torch.Tensor,
    params: Mapping[str, torch.Tensor],
    params0: Mapping[str, torch.Tensor],
    *,
    alpha: float | torch.Tensor,
    beta: float | torch.Tensor,
) -> None:
    """The checks of :func:`alien_loss`, on their own.

    They are data dependent, which ``torch.vmap`` forbids, so the batched grid
    runs them once on its whole training set before it vectorises
    :func:`data_loss`. ``alpha`` and ``beta`` may hold one weight per config.

    Raises:
        ValueError: as :func:`alien_loss`.
    """
    if u.ndim != 1 or u.numel() == 0:
        raise ValueError(f"u must be a non-empty 1-D tensor (N,), got shape {tuple(u.shape)}")
    if u0.shape != u.shape or errors.shape != u.shape:
        raise ValueError(
            f"u, u0 and errors must share shape (N,), got {tuple(u.shape)}, {tuple(u0.shape)}, "
            f"{tuple(errors.shape)}"
        )
    if not bool(((u > 0) & (u < 1)).all()):
        raise ValueError("u must lie strictly inside (0, 1) for the BCE to be finite; clamp it first")
    if not bool(((errors == 0) | (errors == 1)).all()):
        raise ValueError("errors must be a 0/1 indicator")
    if set(params) != set(params0):
        raise ValueError(f"params and params0 name different tensors: {sorted(set(params) ^ set(params0))}")
    for name, p in params.items():
        if p.shape != params0[name].shape:
            raise ValueError(
                f"parameter {name!r} has shape {tuple(p.shape)} but its initial value "
                f"{tuple(params0[name].shape)}"
            )
    for name, w in (("alpha", alpha), ("beta", beta)):
        values = torch.as_tensor(w).flatten().tolist()
        if any(v < 0 for v in values):
            raise ValueError(f"{name} must be >= 0, got {', '.join(f'{v:g}' for v in values)}")


def loss_terms(
    u: torch.Tensor,
    u0: torch.Tensor,
    errors: torch.Tensor,
    params: Mapping[str, torch.Tensor],
    params0: Mapping[str, torch.Tensor],
    *,
    alpha: float | torch.Tensor,
    beta: float | torch.Tensor,
) -> LossTerms:
    """:func:`alien_loss` without input checks, safe inside ``torch.vmap``/``torch.func.grad``.

    The checks of :func:`alien_loss` are data dependent, which ``vmap`` forbids.
    """
    bce, align = _bce_align(u, u0, errors)
    l2sp = sum(((p - params0[name]) ** 2).sum() for name, p in params.items())
    l2sp_t = l2sp if isinstance(l2sp, torch.Tensor) else u.new_zeros(())
    return LossTerms(total=bce + alpha * align + beta * l2sp_t, bce=bce, align=align, l2sp=l2sp_t)


def _bce_align(u: torch.Tensor, u0: torch.Tensor, errors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Written out rather than F.binary_cross_entropy: identical for clamped u, and batching-rule free.
    bce = -(errors * torch.log(u) + (1.0 - errors) * torch.log1p(-u)).mean()
    align = ((u - u0) ** 2).mean()
    return bce, align


def data_loss(
    u: torch.Tensor, u0: torch.Tensor, errors: torch.Tensor, *, alpha: float | torch.Tensor
) -> torch.Tensor:
    """``BCE + alpha * align``: the loss without its L2-SP term, unchecked (vmap-safe).

    Its gradient plus :func:`l2sp_grad` is the gradient of :func:`alien_loss`'s total.
    """
    bce, align = _bce_align(u, u0, errors)
    return bce + alpha * align


def l2sp_grad(
    params: Mapping[str, torch.Tensor], params0: Mapping[str, torch.Tensor], beta: float | torch.Tensor
) -> dict[str, torch.Tensor]:
    """Gradient of ``beta * l2sp`` in closed form: ``2 beta (theta - theta0)`` per tensor.

    Cheaper than autograd through the sum over every head parameter. With
    ``beta`` of shape ``(K,)`` the parameters are stacked configs (dim 0 = config
    ``k``, weighted by ``beta[k]``) and ``params0`` holds one unstacked copy.
    Unchecked: callers pass what :func:`check_loss_inputs` accepts.

    >>> g = l2sp_grad({"w": torch.tensor([[1.0], [3.0]])}, {"w": torch.tensor([1.0])}, torch.tensor([0.5, 2.0]))
    >>> g["w"].tolist()
    [[0.0], [8.0]]
    """
    out = {}
    for name, p in params.items():
        two_beta = 2.0 * beta
        if isinstance(two_beta, torch.Tensor) and two_beta.ndim == 1:
            two_beta = two_beta.view(-1, *([1] * (p.ndim - 1)))
        out[name] = (p - params0[name]).mul_(two_beta)
    return out
