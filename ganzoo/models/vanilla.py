"""Vanilla (MLP) GAN of the lecture recipe (Goodfellow et al. 2014, fully connected).

G: z (64) -> 4 x [Linear, BatchNorm, ReLU] -> Linear -> Sigmoid -> C*H*W pixels in [0, 1].
D: pixels -> 3 x [Linear, LeakyReLU(0.2)] -> Linear -> one logit.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ImageGenerator


@dataclass
class VanillaConfig:
    latent_dim: int = 64
    hidden_dim: int = 128          # G widths: h, 2h, 4h, 8h; D widths: 4h, 2h, h
    channels: int = 1
    image_size: int = 28
    num_classes: None = None       # unconditional

    def __post_init__(self):
        if self.num_classes is not None:
            raise ValueError(f"vanilla GANs are unconditional: num_classes must be None, got {self.num_classes!r}")
        _positive(self, "latent_dim", "hidden_dim", "channels", "image_size")


def _positive(cfg, *names: str) -> None:
    for n in names:
        v = getattr(cfg, n)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{type(cfg).__name__}.{n} must be a positive int, got {v!r}")


class VanillaGenerator(ImageGenerator):
    def __init__(self, config: VanillaConfig) -> None:
        super().__init__(config)
        self.latent_dim = config.latent_dim
        self.num_classes = None
        self.image_shape = (config.channels, config.image_size, config.image_size)
        h = config.hidden_dim
        widths = [config.latent_dim, h, 2 * h, 4 * h, 8 * h]
        blocks = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            blocks += [nn.Linear(w_in, w_out), nn.BatchNorm1d(w_out), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*blocks, nn.Linear(8 * h, config.channels * config.image_size ** 2), nn.Sigmoid())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None:
            raise ValueError("vanilla GANs are unconditional and take no labels")
        return self.net(z).view(z.shape[0], *self.image_shape)  # (B, C, H, W) in [0, 1]


class VanillaDiscriminator(nn.Module):
    def __init__(self, config: VanillaConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden_dim
        widths = [config.channels * config.image_size ** 2, 4 * h, 2 * h, h]
        blocks = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            blocks += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2, inplace=True)]
        self.net = nn.Sequential(*blocks, nn.Linear(h, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C, H, W) in [0, 1] -> logits (B,)."""
        return self.net(x.flatten(1)).squeeze(1)
