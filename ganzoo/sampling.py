"""Latent interpolation: walks through z space between two seeds or latent vectors."""
from __future__ import annotations

import torch

from .models.base import ImageGenerator, Labels, make_generator

METHODS = ("slerp", "lerp")
MAX_STEPS = 1024


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(D,), (D,), (T,) -> (T, D): the straight line a + t (b - a)."""
    return a + t[:, None] * (b - a)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(D,), (D,), (T,) -> (T, D): the great circle from a to b, norms interpolated linearly.

    Gaussian latents live near a sphere of radius sqrt(D); lerp cuts through its inside where
    the generator saw no training latents, slerp stays on it (White 2016).
    """
    a64, b64, t64 = a.double(), b.double(), t.double()
    na, nb = a64.norm(), b64.norm()
    if na == 0 or nb == 0:                # no direction to turn from: the straight line
        return lerp(a64, b64, t64).to(a.dtype)
    ua, ub = a64 / na, b64 / nb
    omega = torch.arccos((ua @ ub).clamp(-1.0, 1.0))
    if omega < 1e-6:                      # (anti)parallel enough: the straight line is the arc
        return lerp(a64, b64, t64).to(a.dtype)
    so = torch.sin(omega)
    direction = (torch.sin((1 - t64) * omega) / so)[:, None] * ua + (torch.sin(t64 * omega) / so)[:, None] * ub
    return (direction * ((1 - t64) * na + t64 * nb)[:, None]).to(a.dtype)


def _as_latent(g: ImageGenerator, point: int | torch.Tensor, which: str) -> torch.Tensor:
    if isinstance(point, torch.Tensor):
        z = point.detach().to("cpu", torch.float32).reshape(-1)
        if z.numel() != g.latent_dim:
            raise ValueError(f"{which} latent has {z.numel()} values; this model's latent_dim is {g.latent_dim}")
        return z
    return torch.randn(1, g.latent_dim, generator=make_generator(seed=point))[0]


def interpolate(g: ImageGenerator, *, start: int | torch.Tensor, end: int | torch.Tensor, steps: int = 16,
                method: str = "slerp", labels: Labels = None) -> torch.Tensor:
    """``steps`` frames (steps, C, H, W) in [0, 1] from ``start`` to ``end`` (seeds or latent vectors).

    A seed s means the latent of ``g.sample(1, seed=s)``, so the end frames equal those samples.
    Conditional models take one label for the whole walk (default: the class that ``start``'s
    seed draws in ``sample``) or one per frame.
    """
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; valid: {', '.join(METHODS)}")
    if not isinstance(steps, int) or isinstance(steps, bool) or not 2 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an int in 2..{MAX_STEPS}, got {steps!r}")
    za, zb = _as_latent(g, start, "start"), _as_latent(g, end, "end")
    t = torch.linspace(0, 1, steps)
    z = (slerp if method == "slerp" else lerp)(za, zb, t)
    z[0], z[-1] = za, zb                   # exact end points, free of rounding
    if labels is None and g.num_classes is not None:
        if not isinstance(start, int):
            raise ValueError(f"conditional model: give labels (0..{g.num_classes - 1}) when start is a latent vector")
        gen = make_generator(seed=start)
        torch.randn(1, g.latent_dim, generator=gen)
        labels = int(torch.randint(0, g.num_classes, (1,), generator=gen))
    return g.generate(z, g.check_labels(labels, steps))
