"""The three GAN families. Each builds a generator and a discriminator from its config."""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from torch import nn

from .base import MAX_SAMPLES_PER_CALL, ImageGenerator
from .cgan import CGANConfig, CGANDiscriminator, CGANGenerator
from .dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from .vanilla import VanillaConfig, VanillaDiscriminator, VanillaGenerator


@dataclass(frozen=True)
class Family:
    config: type
    generator: type
    discriminator: type


FAMILIES: dict[str, Family] = {
    "vanilla": Family(VanillaConfig, VanillaGenerator, VanillaDiscriminator),
    "dcgan": Family(DCGANConfig, DCGANGenerator, DCGANDiscriminator),
    "cgan": Family(CGANConfig, CGANGenerator, CGANDiscriminator),
}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        near = difflib.get_close_matches(str(name), FAMILIES, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown model family {name!r}{hint} (valid: {', '.join(FAMILIES)})")
    return FAMILIES[name]


def make_config(family: str, options: dict[str, Any]) -> Any:
    """The family's config dataclass from a plain dict; unknown keys are an error that lists the valid ones."""
    cls = get_family(family).config
    valid = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(f"unknown {family} config option(s) {unknown}; valid options: {sorted(valid)}")
    return cls(**options)


def build_generator(family: str, config: Any) -> ImageGenerator:
    return get_family(family).generator(config)


def build_discriminator(family: str, config: Any) -> nn.Module:
    return get_family(family).discriminator(config)


def family_of(model: nn.Module) -> str:
    for name, fam in FAMILIES.items():
        if isinstance(model, (fam.generator, fam.discriminator)):
            return name
    raise TypeError(f"{type(model).__name__} is not a ganzoo model")


__all__ = ["FAMILIES", "Family", "ImageGenerator", "MAX_SAMPLES_PER_CALL", "build_discriminator",
           "build_generator", "family_of", "get_family", "make_config",
           "VanillaConfig", "DCGANConfig", "CGANConfig"]
