"""Turning image tensors into pictures: grids (PIL) and animated GIFs."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image


def to_pil(image: torch.Tensor) -> Image.Image:
    """(C, H, W) float in [0, 1], C = 1 or 3 -> a PIL image (L or RGB)."""
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected one image (C, H, W) with C in (1, 3), got shape {tuple(image.shape)}")
    arr = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr, mode="L" if arr.shape[2] == 1 else "RGB")


def make_grid(images: torch.Tensor, nrow: int | None = None, *, padding: int = 2, pad_value: float = 0.0,
              scale: int = 1) -> Image.Image:
    """(N, C, H, W) in [0, 1] -> one PIL image, ``nrow`` images per row (default: a near-square grid).

    ``scale`` enlarges each pixel (nearest neighbour), handy for 28x28 digits on screen.
    """
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"expected images of shape (N, C, H, W) with N >= 1, got {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    if not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow must be a positive int, got {nrow!r}")
    ncol_rows = math.ceil(n / nrow)
    grid = torch.full((c, ncol_rows * (h + padding) + padding, nrow * (w + padding) + padding), float(pad_value))
    for i, img in enumerate(images.detach().float().cpu()):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = img
    pil = to_pil(grid)
    if scale != 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    return pil


def save_gif(frames: torch.Tensor | Sequence[Image.Image], path: str | Path, *, fps: float = 12,
             scale: int = 4, loop: int = 0, boomerang: bool = False) -> Path:
    """Write an animated GIF from frames (T, C, H, W) in [0, 1] or PIL images; returns the path."""
    if isinstance(frames, torch.Tensor):
        if frames.ndim != 4:
            raise ValueError(f"frames must have shape (T, C, H, W), got {tuple(frames.shape)}")
        pils = [make_grid(f[None], nrow=1, padding=0, scale=scale) for f in frames]
    else:
        pils = list(frames)
    if len(pils) < 1:
        raise ValueError("no frames to write")
    if not 0 < fps <= 100:
        raise ValueError(f"fps must be in (0, 100], got {fps!r}")
    if boomerang:
        pils = pils + pils[-2:0:-1]
    path = Path(path)
    pils[0].save(path, save_all=True, append_images=pils[1:], duration=round(1000 / fps), loop=loop,
                 format="GIF")
    return path
