"""Conditional DCGAN: G(z, y) with a label embedding (Mirza & Osindero 2014), D(x, y) by
projection (Miyato & Koyama 2018) and, optionally, an auxiliary classifier head (AC-GAN,
Odena et al. 2017).

G: [z ; embed(y)] -> the DCGAN generator trunk -> (B, C, H, W) in [0, 1].
D: phi(x) = LeakyReLU(full-size conv of the DCGAN trunk's output), a (B, F) feature;
   logit = psi(phi) + <embed_D(y), phi>;   class logits = W_aux phi (when aux_classifier).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .base import ImageGenerator
from .dcgan import BASE_SIZE, check_conv_config, discriminator_trunk, generator_trunk


@dataclass
class CGANConfig:
    num_classes: int = 10
    latent_dim: int = 64
    embed_dim: int = 32            # G's label embedding, concatenated to z
    ngf: int = 64
    ndf: int = 64
    feature_dim: int = 256         # D's feature phi(x), projected on the label embedding
    channels: int = 1
    image_size: int = 28
    extra_layers: int = 0
    minibatch_std: bool = False
    aux_classifier: bool = True    # AC-GAN head on phi(x)
    class_names: list[str] | None = field(default=None)

    def __post_init__(self):
        check_conv_config(self)
        if not isinstance(self.num_classes, int) or isinstance(self.num_classes, bool) or self.num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {self.num_classes!r}")
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(f"class_names has {len(self.class_names)} names for {self.num_classes} classes")


class CGANGenerator(ImageGenerator):
    def __init__(self, config: CGANConfig) -> None:
        super().__init__(config)
        self.latent_dim = config.latent_dim
        self.num_classes = config.num_classes
        self.class_names = config.class_names
        self.image_shape = (config.channels, config.image_size, config.image_size)
        self.embed = nn.Embedding(config.num_classes, config.embed_dim)
        self.net = generator_trunk(config.latent_dim + config.embed_dim, config)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim), labels (B,) int64 -> images (B, C, H, W) in [0, 1]."""
        if labels is None:
            raise ValueError(f"conditional model: labels in 0..{self.num_classes - 1} are required")
        h = torch.cat([z, self.embed(labels).to(z.dtype)], dim=1)   # (B, latent + embed)
        return self.net(h[:, :, None, None]).add(1).mul(0.5)


class CGANDiscriminator(nn.Module):
    def __init__(self, config: CGANConfig) -> None:
        super().__init__()
        self.config = config
        self.trunk, width = discriminator_trunk(config)
        base = BASE_SIZE[config.image_size]
        self.features = nn.Sequential(nn.Conv2d(width, config.feature_dim, base, 1, 0),   # (B, F, 1, 1)
                                      nn.LeakyReLU(0.2, inplace=True), nn.Flatten())        # (B, F)
        self.psi = nn.Linear(config.feature_dim, 1)
        self.embed = nn.Embedding(config.num_classes, config.feature_dim)
        self.aux = nn.Linear(config.feature_dim, config.num_classes) if config.aux_classifier else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor, with_classes: bool = False):
        """x (B, C, H, W) in [0, 1], labels (B,) -> real/fake logits (B,);
        with_classes: (logits (B,), class logits (B, K) or None)."""
        phi = self.features(self.trunk(x * 2 - 1))                              # (B, F)
        logit = self.psi(phi).squeeze(1) + (self.embed(labels) * phi).sum(1)     # projection
        if not with_classes:
            return logit
        return logit, (self.aux(phi) if self.aux is not None else None)
