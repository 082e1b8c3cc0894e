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


# Bounds of the size options: far above any zoo model, low enough that a config.json from an
# untrusted repo cannot make ganzoo.load allocate gigabytes before the weights are checked.
LIMITS = {"latent_dim": (1, 1024), "hidden_dim": (1, 4096), "ngf": (1, 1024), "ndf": (1, 1024), "embed_dim": (1, 1024),
          "feature_dim": (1, 4096), "channels": (1, 4), "image_size": (8, 256), "extra_layers": (0, 8),
          "num_classes": (2, 1000), "aux_classes": (0, 1000)}


def make_config(family: str, options: dict[str, Any]) -> Any:
    """The family's config dataclass from a plain dict; unknown keys, wrong types and sizes out of
    LIMITS are errors that name the option and what is allowed."""
    if not isinstance(family, str):
        raise ValueError(f"family must be a text, one of {', '.join(FAMILIES)}; got {family!r}")
    if not isinstance(options, dict):
        raise ValueError(f"{family} config must be a mapping of options, got {type(options).__name__}")
    cls = get_family(family).config
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ValueError(f"unknown {family} config option(s) {unknown}; valid options: {sorted(fields)}")
    for name, value in options.items():
        if name in LIMITS and value is not None:
            lo, hi = LIMITS[name]
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ValueError(f"{family} config option {name} must be an int in {lo}..{hi}, got {value!r}")
        elif fields[name].type == "bool" and not isinstance(value, bool):
            raise ValueError(f"{family} config option {name} must be true or false, got {value!r}")
        elif fields[name].type.startswith("list[str]") and value is not None and \
                not (isinstance(value, list) and all(isinstance(v, str) and 0 < len(v) <= 100 for v in value)):
            raise ValueError(f"{family} config option {name} must be a list of names (texts of 1-100 characters), got {value!r:.80}")
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
