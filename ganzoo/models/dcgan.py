"""DCGAN (Radford et al. 2015) for 28x28, 32x32 and 64x64 images, 1 or 3 channels.

The paper's rules: fractional-strided convolutions up in G and strided convolutions down
in D (no pooling), BatchNorm in both (not on G's output nor D's input), ReLU in G with a
Tanh output, LeakyReLU(0.2) in D, no hidden fully connected layers.

28 px starts from a 7x7 map (7 -> 14 -> 28), 32 and 64 px from 4x4 (4 -> 8 -> ... -> 64).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ImageGenerator

BASE_SIZE = {28: 7, 32: 4, 64: 4}


@dataclass
class DCGANConfig:
    latent_dim: int = 64
    ngf: int = 64                  # G width at full resolution; doubles at each halving
    ndf: int = 64                  # D width at half resolution; doubles at each halving
    channels: int = 1
    image_size: int = 28
    extra_layers: int = 0          # stride-1 3x3 conv blocks at the base (7x7 / 4x4) resolution, G and D
    minibatch_std: bool = False    # D: append the batch's feature std as a channel (Karras et al.)
    aux_classes: int = 0           # D: a class head trained on the real images' labels; G stays unconditional
    num_classes: None = None

    def __post_init__(self):
        check_conv_config(self)
        if not isinstance(self.aux_classes, int) or isinstance(self.aux_classes, bool) or self.aux_classes < 0 \
                or self.aux_classes == 1:
            raise ValueError(f"aux_classes must be 0 (no class head) or an int >= 2, got {self.aux_classes!r}")
        if self.num_classes is not None:
            raise ValueError(f"DCGAN is unconditional: num_classes must be None, got {self.num_classes!r}; use the 'cgan' family")


def check_conv_config(cfg) -> None:
    for n in ("latent_dim", "ngf", "ndf"):
        v = getattr(cfg, n)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{type(cfg).__name__}.{n} must be a positive int, got {v!r}")
    if not isinstance(cfg.extra_layers, int) or cfg.extra_layers < 0:
        raise ValueError(f"{type(cfg).__name__}.extra_layers must be an int >= 0, got {cfg.extra_layers!r}")
    if cfg.image_size not in BASE_SIZE:
        raise ValueError(f"image_size {cfg.image_size!r} is not supported; choose one of {sorted(BASE_SIZE)}")
    if cfg.channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {cfg.channels!r}")


def num_upsamplings(cfg) -> int:
    return (cfg.image_size // BASE_SIZE[cfg.image_size]).bit_length() - 1  # 28 -> 2, 32 -> 3, 64 -> 4


def generator_trunk(in_dim: int, cfg) -> nn.Sequential:
    """(B, in_dim, 1, 1) -> (B, channels, S, S) in [-1, 1]."""
    n_up, base = num_upsamplings(cfg), BASE_SIZE[cfg.image_size]
    width = cfg.ngf * 2 ** (n_up - 1)
    layers = [nn.ConvTranspose2d(in_dim, width, base, 1, 0, bias=False),      # (B, w, base, base)
              nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    for _ in range(cfg.extra_layers):                                          # same shape, more depth
        layers += [nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    for _ in range(n_up - 1):
        layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),  # spatial x2, width / 2
                   nn.BatchNorm2d(width // 2), nn.ReLU(inplace=True)]
        width //= 2
    layers += [nn.ConvTranspose2d(width, cfg.channels, 4, 2, 1), nn.Tanh()]  # (B, C, S, S)
    return nn.Sequential(*layers)


class MinibatchStd(nn.Module):
    """Appends one channel: the mean over features of the std over the batch (mode-collapse remedy)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        # sqrt(var + eps): the gradient of a plain std is NaN where the batch agrees exactly
        std = (h.float().var(dim=0, unbiased=False) + 1e-8).sqrt().mean().to(h.dtype)   # scalar
        return torch.cat([h, std.expand(h.shape[0], 1, *h.shape[2:])], dim=1)


def discriminator_trunk(cfg) -> tuple[nn.Sequential, int]:
    """(B, C, S, S) in [-1, 1] -> (B, width, base, base); returns the trunk and its output width."""
    n_down = num_upsamplings(cfg)
    width = cfg.ndf
    layers = [nn.Conv2d(cfg.channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]   # S / 2
    for _ in range(n_down - 1):
        layers += [nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),                     # spatial / 2
                   nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, inplace=True)]
        width *= 2
    for _ in range(cfg.extra_layers):                                          # (B, width, base, base)
        layers += [nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, inplace=True)]
    if cfg.minibatch_std:
        layers.append(MinibatchStd())
        width += 1
    return nn.Sequential(*layers), width


class DCGANGenerator(ImageGenerator):
    def __init__(self, config: DCGANConfig) -> None:
        super().__init__(config)
        self.latent_dim = config.latent_dim
        self.num_classes = None
        self.image_shape = (config.channels, config.image_size, config.image_size)
        self.net = generator_trunk(config.latent_dim, config)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent_dim) -> images (B, C, H, W) in [0, 1]."""
        if labels is not None:
            raise ValueError("DCGAN is unconditional and takes no labels")
        return self.net(z[:, :, None, None]).add(1).mul(0.5)


class DCGANDiscriminator(nn.Module):
    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        self.config = config
        self.trunk, width = discriminator_trunk(config)
        base = BASE_SIZE[config.image_size]
        self.head = nn.Conv2d(width, 1, base, 1, 0)   # (B, 1, 1, 1): a full-size conv, not an FC layer
        # label supervision (Salimans et al. 2016; Odena et al. 2017 without conditioning G): class-aware
        # features in D; registered last so that a checkpoint without it resumes with its optimizer state
        self.aux = nn.Conv2d(width, config.aux_classes, base, 1, 0) if config.aux_classes else None   # (B, K, 1, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, with_classes: bool = False):
        """x (B, C, H, W) in [0, 1] -> logits (B,); labels are ignored (unconditional).
        with_classes: (logits (B,), class logits (B, K) or None)."""
        h = self.trunk(x * 2 - 1)                      # (B, width, base, base)
        logit = self.head(h).flatten()
        if not with_classes:
            return logit
        return logit, (self.aux(h).flatten(1) if self.aux is not None else None)
