"""What every ganzoo generator shares: latents, labels and batched sampling.

Convention used across the package: images are float tensors (B, C, H, W) in [0, 1].
Generators return that range from ``forward``; discriminators take it and return logits.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import asdict
from pathlib import Path
from typing import Sequence, Union

import torch
from huggingface_hub import ModelHubMixin
from torch import nn

# The most images one ``sample`` call returns; larger requests are refused so that a
# typo (n=10**9) fails at once instead of filling memory. Work is done in chunks of
# SAMPLE_CHUNK, so memory stays bounded whatever n is.
MAX_SAMPLES_PER_CALL = 100_000
SAMPLE_CHUNK = 512

Labels = Union[int, Sequence[int], torch.Tensor, None]


def make_generator(seed: int | None = None, generator: torch.Generator | None = None) -> torch.Generator:
    """A CPU torch.Generator from ``seed`` (or the one given), so latents match on every device."""
    if generator is not None and seed is not None:
        raise ValueError("give either seed or generator, not both")
    if generator is not None:
        if generator.device.type != "cpu":
            raise ValueError(f"generator must live on the CPU (got {generator.device}); latents are drawn on the CPU so a seed means the same images on every device")
        return generator
    g = torch.Generator(device="cpu")
    if seed is None:
        g.seed()
    else:
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an int in [0, 2**63), got {seed!r}")
        g.manual_seed(seed)
    return g


CARD_TEMPLATE = """
---
{{ card_data }}
---

# {{ model_name | default("A ganzoo generator", true) }}

A generative adversarial network's generator saved with [ganzoo](https://pypi.org/project/ganzoo-models/)
(`pip install ganzoo-models`). Load and sample it with:

```python
import ganzoo
g = ganzoo.ImageGenerator.from_pretrained("{{ repo_id | default("OWNER/NAME", true) }}")
ganzoo.make_grid(g.sample(64, seed=0)).save("grid.png")
```
"""


class ImageGenerator(nn.Module, ModelHubMixin, library_name="ganzoo", license="mit",
                     tags=["gan", "image-generation", "pytorch"], pipeline_tag="unconditional-image-generation",
                     model_card_template=CARD_TEMPLATE):
    """Base class of the zoo's generators: subclasses set the attributes and ``forward(z, labels)``.

    ``from_pretrained`` / ``save_pretrained`` / ``push_to_hub`` follow huggingface_hub's
    ModelHubMixin; the folder holds config.json (family and options) and model.safetensors, the
    files ``ganzoo.load`` reads. ``ImageGenerator.from_pretrained`` builds whichever family the
    config names; a family's class (``DCGANGenerator.from_pretrained``) insists on its own.
    """

    latent_dim: int
    num_classes: int | None
    image_shape: tuple[int, int, int]  # (C, H, W)

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config
        self.name: str | None = None  # set by ganzoo.load to the zoo name or source
        self.weights_file = None      # set by ganzoo.load: the model.safetensors the weights came from

    def _save_pretrained(self, save_directory: Path) -> None:
        from ..hub import save_pretrained
        save_pretrained(self, save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *, force_download: bool = False,
                        token: str | bool | None = None, cache_dir: str | os.PathLike | None = None,
                        local_files_only: bool = False, revision: str | None = None, **model_kwargs) -> "ImageGenerator":
        """A generator in eval mode from a Hub repo id (``owner/name``), a zoo name (its Hub repo)
        or a local folder. ``device`` and ``dtype`` may be given as in ``ganzoo.load``."""
        return cls._from_pretrained(model_id=os.fspath(pretrained_model_name_or_path), revision=revision,
                                    cache_dir=cache_dir, force_download=force_download,
                                    local_files_only=local_files_only, token=token, **model_kwargs)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir, force_download: bool,
                         local_files_only: bool, token, device: str | torch.device = "cpu",
                         dtype: torch.dtype | None = None, **unexpected) -> "ImageGenerator":
        from ..errors import InvalidConfigError
        from ..hub import HUB_PREFIX, check_device, check_dtype, load_folder, ready, resolve
        from ..registry import list_models

        unexpected.pop("config", None)           # what ModelHubMixin read from config.json; ours reads it itself
        if unexpected:
            raise TypeError(f"from_pretrained got unexpected options {sorted(unexpected)}; valid: device, dtype, "
                            "revision, token, cache_dir, force_download, local_files_only")
        device, dtype = check_device(device), check_dtype(dtype)
        if os.path.isdir(model_id):
            folder = Path(model_id)
        else:                                    # a zoo name means its Hub repo, anything else is a repo id
            folder = resolve(model_id if model_id in list_models() else HUB_PREFIX + model_id, revision=revision,
                             source="hub", token=token, cache_dir=cache_dir, force_download=force_download,
                             local_files_only=local_files_only)
        g = load_folder(folder)
        if not isinstance(g, cls):
            raise InvalidConfigError(f"{model_id!r} holds a {type(g).__name__}, not a {cls.__name__}; load it with "
                                     "ImageGenerator.from_pretrained or ganzoo.load")
        return ready(g, model_id, device, dtype)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def config_dict(self) -> dict:
        return asdict(self.config)

    def latents(self, n: int, *, seed: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent vectors z ~ N(0, I), shape (n, latent_dim), drawn on the CPU (float32)."""
        _check_count(n)
        return torch.randn(n, self.latent_dim, generator=make_generator(seed, generator))

    @property
    def label_names(self) -> list[str]:
        """The class names labels may be given by ("0".."9" when the config names none); [] when unconditional."""
        if self.num_classes is None:
            return []
        return [str(n) for n in (getattr(self, "class_names", None) or range(self.num_classes))]

    def label_index(self, value) -> int:
        """One class, given as an int, a digit string ("7") or a class name ("Sneaker"), as an index.

        The one parser of labels: the CLI, the demo and ``check_labels`` all use it.
        """
        what = self.name or type(self).__name__
        if self.num_classes is None:
            raise ValueError(f"model {what} is unconditional and takes no labels (got {value!r}); "
                             "use a conditional model such as 'cgan-mnist'")
        names = self.label_names
        valid = f"0..{self.num_classes - 1} or a name ({', '.join(names)})"
        if isinstance(value, str):
            text = value.strip()
            if text in names:
                return names.index(text)
            if text.lstrip("-").isdigit():
                value = int(text)
            else:
                raise ValueError(f"unknown label {value!r} for {what}; valid: {valid}")
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.dtype.is_floating_point \
                and value.dtype != torch.bool:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"a label must be an int or a class name, got {value!r}; valid: {valid}")
        if not 0 <= value < self.num_classes:
            raise ValueError(f"label {value} is out of range for {what}; valid: {valid}")
        return value

    def check_labels(self, labels: Labels, n: int) -> torch.Tensor | None:
        """Labels as a (n,) int64 CPU tensor, or None for unconditional models; raises ValueError.

        ``labels``: one label or n of them, each an int, a digit string or a class name, as a
        sequence or a 0-d / 1-d integer tensor.
        """
        if self.num_classes is None:
            if labels is not None:
                raise ValueError(f"model {self.name or type(self).__name__} is unconditional and takes no labels (got {labels!r}); use a conditional model such as 'cgan-mnist'")
            return None
        if labels is None:
            raise ValueError(f"model {self.name or type(self).__name__} is conditional: labels in 0..{self.num_classes - 1} (or class names) are required")
        if isinstance(labels, torch.Tensor):
            if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.is_complex() or labels.ndim > 1:
                raise ValueError(f"labels must be a 0-d or 1-d integer tensor with values in 0..{self.num_classes - 1}, "
                                 f"got dtype {labels.dtype} and shape {tuple(labels.shape)}")
            t = labels.detach().to("cpu", torch.long).reshape(-1)
            bad = t[(t < 0) | (t >= self.num_classes)]
            if bad.numel():
                self.label_index(int(bad[0]))                  # raises, naming the bad label
        elif isinstance(labels, (str, int)):
            t = torch.tensor([self.label_index(labels)])
        elif isinstance(labels, (list, tuple, range)):
            t = torch.tensor([self.label_index(v) for v in labels], dtype=torch.long)
        else:
            raise ValueError(f"labels must be an int, a class name, or a list or 1-d tensor of them; "
                             f"got {type(labels).__name__}")
        if t.numel() not in (1, n):
            raise ValueError(f"got {t.numel()} labels for {n} images; give one label or one per image")
        return t.expand(n).contiguous() if t.numel() == 1 else t.contiguous()

    def generate(self, z, labels: Labels = None) -> torch.Tensor:
        """Images (n, C, H, W) in [0, 1] on the CPU for latents z (n, latent_dim), in chunks.

        ``z``: a float tensor, numpy array or nested list, finite; ``labels`` as in ``check_labels``.
        On a GPU, TF32 is off while sampling, so a GPU's images match the CPU's to float rounding
        (within one 8-bit level) rather than to TF32's 10-bit mantissa.
        """
        if not isinstance(z, torch.Tensor):
            try:
                z = torch.as_tensor(z, dtype=torch.float32)
            except (TypeError, ValueError, RuntimeError) as e:
                raise ValueError(f"z must be a float tensor of shape (n, {self.latent_dim}), got {type(z).__name__}: {e}") from None
        if z.ndim != 2 or z.shape[1] != self.latent_dim or not z.dtype.is_floating_point:
            raise ValueError(f"z must be a float tensor of shape (n, {self.latent_dim}), got {z.dtype} {tuple(z.shape)}")
        _check_count(z.shape[0], what="number of latents")
        if not torch.isfinite(z).all():
            raise ValueError("z holds NaN or infinite values; latents must be finite (z ~ N(0, I): use g.latents(n, seed=...))")
        labels = self.check_labels(labels, z.shape[0]) if labels is not None or self.num_classes is not None else None
        if self.training:
            raise RuntimeError("call .eval() before sampling: batch norm must not update while sampling")
        # Allocated outside inference mode so callers may use the images with autograd.
        out = torch.empty(z.shape[0], *self.image_shape)
        with torch.inference_mode(), _full_precision_float32(self.device):
            for start in range(0, z.shape[0], SAMPLE_CHUNK):
                zc = z[start:start + SAMPLE_CHUNK].to(self.device, self.dtype)
                yc = None if labels is None else labels[start:start + SAMPLE_CHUNK].to(self.device)
                out[start:start + zc.shape[0]] = self(zc, yc).float().clamp_(0, 1).cpu()
        if not torch.isfinite(out).all():
            raise FloatingPointError(f"model {self.name or type(self).__name__} produced NaN images: its weights "
                                     "hold NaN or infinite values (a corrupt or diverged model)")
        return out

    def sample(self, n: int, *, labels: Labels = None, seed: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, C, H, W), float in [0, 1], on the CPU.

        Latents come first from the seed's CPU generator, then (conditional models given no
        labels) labels uniform over the classes, so one seed means the same images anywhere.
        """
        gen = make_generator(seed, generator)
        _check_count(n)
        if labels is None and self.num_classes is not None:
            z = torch.randn(n, self.latent_dim, generator=gen)
            y = torch.randint(0, self.num_classes, (n,), generator=gen)
        else:
            y = self.check_labels(labels, n)
            z = torch.randn(n, self.latent_dim, generator=gen)
        return self.generate(z, y)


def _check_count(n: int, what: str = "n") -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_SAMPLES_PER_CALL:
        raise ValueError(f"{what} must be an int in 1..{MAX_SAMPLES_PER_CALL}, got {n!r}")


@contextlib.contextmanager
def _full_precision_float32(device: torch.device):
    """cuDNN convolutions and matmuls in full float32 (no TF32) on CUDA; nothing elsewhere."""
    if device.type != "cuda":
        yield
        return
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, benchmark=torch.backends.cudnn.benchmark,
                                        deterministic=torch.backends.cudnn.deterministic, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
