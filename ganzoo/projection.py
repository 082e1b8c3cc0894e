"""Projection (GAN inversion): the latent, and for a conditional model the class, whose image
matches a given one, so a user's own drawing can be found in a zoo model and walked from.

    result = ganzoo.project(ganzoo.load("cgan-mnist"), ["seven.png"])
    result.images, result.latents, result.labels        # the reconstruction, its z, the class found

Input is prepared the way the model's data set was made (``prepare_image``): greyscale, light on
dark (dark-on-light input is detected and inverted), and for digits MNIST's centring (bounding
box scaled to 20x20, centre of mass at the centre of 28x28, strokes brought to MNIST's width);
for Fashion-MNIST the object is scaled to fill 28x28 and centred by its bounding box.

The objective per candidate latent z (and class y), target x, generator G and the bundled
evaluator's penultimate features phi (ganzoo/evaluators; the zoo ships no discriminator):

    L(z) = mean (G(z) - x)^2                         pixels
         + COARSE * mean (blur G(z) - blur x)^2      pixels at a coarse scale: a gradient even
                                                     where strokes do not overlap yet
         + FEATURES * (1 - cos(phi(G(z)), phi(x)))   shape, as the classifier judges it
         + PRIOR * (|z| / sqrt(d) - 1)^2             stay near the sphere where N(0, I) latents live

Search, batched over images, restarts and (a conditional model given no label) classes:
1. a bank of BANK_IMAGES samples drawn from ``seed`` (split over the classes searched) is shared by
   every image; each (image, class) starts from its ``restarts`` nearest bank latents in pixels, so
   a result depends on the seed and the image only, not on the rest of the batch;
2. a quarter of ``steps`` of Adam on every candidate with the pixel terms and the prior (the
   generator alone: cheap); each image keeps its 4 best candidates under the full objective;
3. another quarter on those; each image keeps its 2 best;
4. the other half with the evaluator's features too; the candidate with the lowest objective wins,
   and its class is ``.labels``.
The step size is LR for the first half of the steps, then falls linearly to 0. Batch norm is folded
into the layer before it in a private copy of the generator (eval mode: the same function, less
work), and only z gets gradients. The figures (docs/projection.md) come from
training/project_quality.py and benchmarks/project_speed.py.
"""
from __future__ import annotations

import copy
import functools
import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import nn

from .models.base import ImageGenerator, Labels, make_generator

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000     # a larger image is refused before it is decoded (about 6300 x 6300)
MAX_IMAGES = 10_000         # images per call; work is done in chunks, so memory stays bounded
MAX_STEPS = 5_000
MAX_RESTARTS = 64
RESTARTS = 4                # starting latents per image; 1 per class when a conditional model's class is searched
MIN_CONTRAST = 0.08         # ink must stand this far (fraction of full scale) from the background
INK_FLOOR = 0.15            # normalised ink below this is paper texture or noise, set to 0

DIGIT_BOX = 20              # MNIST: the digit's bounding box is scaled to fit 20x20...
DIGIT_STROKE = 2.8          # ...and its strokes are about this wide (median over mnist-10k)
WORK_BOX = 80               # strokes are measured and widened at this size (4x the box)

BANK_IMAGES = 1024          # random samples the starting points are chosen from
# (share of the steps, candidates each image keeps before the stage, evaluator features on): the
# last stage takes the steps left over
STAGES = ((0.25, None, False), (0.25, 4, False), (0.5, 2, True))
CHUNK = 2048                # candidates optimised at once
COARSE, FEATURES, PRIOR = 1.0, 0.05, 0.01
LR = 0.08

ImageInput = torch.Tensor | Image.Image | np.ndarray | str | os.PathLike


@dataclass
class Projection:
    """What ``project`` found for N target images of shape (C, H, W)."""
    latents: torch.Tensor           # (N, latent_dim) float32
    images: torch.Tensor            # (N, C, H, W) in [0, 1]: G(latents, labels), the reconstructions
    loss: torch.Tensor              # (N,) the objective at the end (see the module doc)
    mse: torch.Tensor               # (N,) mean squared pixel error of images against targets
    targets: torch.Tensor           # (N, C, H, W) in [0, 1]: the images as prepared and matched
    labels: torch.Tensor | None     # (N,) int64, the class used (found when none was given); None if unconditional
    frames: torch.Tensor | None     # (T, N, C, H, W): the best image every ``record_every`` steps, or None


# ---- preparing images ------------------------------------------------------------------------
def dataset_style(g: ImageGenerator) -> str | None:
    """'mnist' or 'fashion' for a zoo model (how its images were made, and its evaluator); None otherwise."""
    from .registry import EVALUATORS, get_entry, list_models

    return EVALUATORS.get(get_entry(g.name).dataset) if g.name in list_models() else None


def load_image(source: Image.Image | np.ndarray | str | os.PathLike) -> Image.Image:
    """A PIL image from a path, a PIL image or an array (H, W) / (H, W, 3 or 4), uint8 or float in [0, 1].

    Raises ValueError for a file that is missing or not an image, or larger than MAX_PIXELS.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            with warnings.catch_warnings():             # sizes between Pillow's two limits: ours speaks
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(path)
        except Image.DecompressionBombError as e:
            raise ValueError(f"image {str(path)!r} is far too large ({e}); at most {MAX_PIXELS:,} pixels are "
                             "allowed, so scale it down") from None
        except (OSError, UnidentifiedImageError) as e:
            raise ValueError(f"cannot read image {str(path)!r}: {e}") from None
        _check_pixels(im.size, repr(str(path)))
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as e:     # truncated or corrupt image data
            raise ValueError(f"cannot read image {str(path)!r}: {e}") from None
        return im
    if isinstance(source, np.ndarray):
        return _array_to_pil(source)
    if isinstance(source, Image.Image):
        _check_pixels(source.size, "the image")
        return source
    raise ValueError(f"an image must be a path, a PIL image or a numpy array, got {type(source).__name__}")


def _check_pixels(size: tuple[int, int], what: str) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise ValueError(f"{what} is {w}x{h} = {w * h:,} pixels; at most {MAX_PIXELS:,} are allowed, so scale it down")
    if w < 1 or h < 1:
        raise ValueError(f"{what} is {w}x{h}: empty")


def _array_to_pil(a: np.ndarray) -> Image.Image:
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ValueError(f"an image array must be (H, W) or (H, W, 1|3|4), got shape {a.shape}")
    _check_pixels((a.shape[1], a.shape[0]), "the image array")
    if a.dtype == np.uint8:
        u8 = a
    elif np.issubdtype(a.dtype, np.floating) or a.dtype == np.bool_:
        f = a.astype(np.float64)
        if not np.isfinite(f).all() or f.min() < 0 or f.max() > 1:
            raise ValueError(f"a float image array must hold values in [0, 1], got [{np.nanmin(f):.3g}, {np.nanmax(f):.3g}]"
                             + ("" if np.isfinite(f).all() else " with NaN or inf"))
        u8 = np.round(f * 255).astype(np.uint8)
    else:
        raise ValueError(f"an image array must be uint8 or float in [0, 1], got dtype {a.dtype}")
    if u8.ndim == 3 and u8.shape[2] == 1:
        u8 = u8[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(u8))          # L, RGB or RGBA by shape


def grey_levels(im: Image.Image) -> np.ndarray:
    """(H, W) float64 in [0, 1]: the image's luminance. Transparent pixels take the colour that
    contrasts with the opaque ones, so strokes drawn on a transparent canvas read as strokes."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float64) / 255
        alpha = rgba[:, :, 3]
        lum = np.asarray(im.convert("RGBA").convert("RGB").convert("L"), dtype=np.float64) / 255
        if alpha.min() < 1:
            opaque = alpha > 0.5
            ink_is_dark = not opaque.any() or lum[opaque].mean() < 0.5
            return alpha * lum + (1 - alpha) * (1.0 if ink_is_dark else 0.0)
        return lum
    return np.asarray(im.convert("L"), dtype=np.float64) / 255


def is_dark_on_light(grey: np.ndarray) -> bool:
    """Whether (H, W) grey levels show dark ink on a light background: the border (where the
    background is) is brighter than the middle of the image's range."""
    h, w = grey.shape
    r = max(1, min(h, w) // 20)
    border = np.concatenate([grey[:r].ravel(), grey[-r:].ravel(), grey[:, :r].ravel(), grey[:, -r:].ravel()])
    return float(np.median(border)) > (float(grey.min()) + float(grey.max())) / 2


def ink(grey: np.ndarray) -> np.ndarray:
    """(H, W) grey levels -> (H, W) ink in [0, 1], light on dark as in MNIST, background at 0 and the
    strongest stroke at 1. Raises ValueError when nothing stands out from the background."""
    x = 1 - grey if is_dark_on_light(grey) else grey
    h, w = x.shape
    r = max(1, min(h, w) // 20)
    background = float(np.median(np.concatenate([x[:r].ravel(), x[-r:].ravel(), x[:, :r].ravel(), x[:, -r:].ravel()])))
    contrast = float(x.max()) - background
    if contrast < MIN_CONTRAST:
        raise ValueError(f"the image is empty: nothing stands out from its background (contrast {contrast:.3f}, "
                         f"at least {MIN_CONTRAST} is needed); draw or upload a digit or object")
    x = np.clip((x - background) / contrast, 0, 1)
    x[x < INK_FLOOR] = 0
    return x


def _bounding_box(x: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(x.any(1)), np.flatnonzero(x.any(0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize(x: np.ndarray, height: int, width: int) -> np.ndarray:
    im = Image.fromarray(x.astype(np.float32))
    return np.asarray(im.resize((max(1, width), max(1, height)), Image.LANCZOS), dtype=np.float64).clip(0, 1)


def _fit(x: np.ndarray, box: int) -> np.ndarray:
    """Scale (h, w) so that its longer side is ``box``, keeping the aspect ratio."""
    h, w = x.shape
    s = box / max(h, w)
    return _resize(x, round(h * s), round(w * s))


def stroke_width(x: np.ndarray) -> float:
    """Mean stroke width in pixels of ink (H, W): 2 * area / boundary length of the ink above 0.5."""
    on = x > 0.5
    area = int(on.sum())
    if area == 0:
        return 0.0
    p = np.pad(on, 1)
    interior = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:] & on
    return 2 * area / max(1, area - int(interior.sum()))


def _even_strokes(x: np.ndarray, target: float) -> np.ndarray:
    """Widen thin strokes (a fine pen on a big canvas) or thin fat ones towards ``target`` pixels,
    with a grey-level max (min) filter."""
    from PIL import ImageFilter

    w = stroke_width(x)
    k = round(abs(target - w)) // 2 * 2 + 1        # odd filter size: grows (shrinks) width by k - 1
    if k < 3 or (target / 2 < w < target * 2):          # MNIST's own strokes vary by 0.8-1.4x
        return x
    f = ImageFilter.MaxFilter(k) if w < target else ImageFilter.MinFilter(k)
    out = np.asarray(Image.fromarray(x.astype(np.float32)).filter(f), dtype=np.float64)
    return out if out.max() > 0.5 else x                 # never erase a drawing


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, pixel centres at integer coordinates."""
    total = x.sum()
    rows, cols = np.arange(x.shape[0]), np.arange(x.shape[1])
    return float((x.sum(1) * rows).sum() / total), float((x.sum(0) * cols).sum() / total)


def _place(x: np.ndarray, size: int, at: tuple[float, float]) -> np.ndarray:
    """Paste x into a size x size canvas with its point ``at`` (row, col) moved to the canvas centre."""
    canvas = np.zeros((size, size))
    top, left = round(size / 2 - at[0]), round(size / 2 - at[1])
    h, w = x.shape
    r0, c0 = max(0, -top), max(0, -left)
    r1, c1 = min(h, size - top), min(w, size - left)
    canvas[top + r0:top + r1, left + c0:left + c1] = x[r0:r1, c0:c1]
    return canvas


def prepare_image(source: Image.Image | np.ndarray | str | os.PathLike, *, style: str = "mnist",
                  size: int = 28) -> np.ndarray:
    """Any image as the model's data set shows one: (size, size) float in [0, 1], light on dark.

    ``style="mnist"``: the bounding box scaled to fit 20x20 (for size 28), strokes brought to
    MNIST's width, the centre of mass moved to the centre (14, 14). ``style="fashion"``: the
    bounding box scaled to fill size x size and centred. Raises ValueError for an unreadable,
    empty or oversized image, naming it.
    """
    if style not in ("mnist", "fashion"):
        raise ValueError(f"unknown style {style!r}; valid: 'mnist', 'fashion'")
    x = ink(grey_levels(load_image(source)))
    top, bottom, left, right = _bounding_box(x)
    x = x[top:bottom, left:right]
    if style == "fashion":
        x = _fit(x, size)
        return _place(x, size, ((x.shape[0] - 1) / 2, (x.shape[1] - 1) / 2))
    box = round(size * DIGIT_BOX / 28)
    x = _even_strokes(_fit(x, WORK_BOX), DIGIT_STROKE * WORK_BOX / box)
    x = _fit(x, box)
    placed = _place(x, size, centre_of_mass(x))
    return placed if placed.max() > 0 else _place(x, size, ((x.shape[0] - 1) / 2, (x.shape[1] - 1) / 2))


def as_targets(g: ImageGenerator, images, style: str | None = None) -> torch.Tensor:
    """The images ``project`` matches, (N, C, H, W) float in [0, 1] for the model ``g``.

    A tensor (N, C, H, W) or (C, H, W) of the model's image shape is taken as is (already
    prepared, values in [0, 1]); paths, PIL images and arrays, alone or in a list, go through
    ``prepare_image`` in the model's data set's style.
    """
    c, h, w = g.image_shape
    if isinstance(images, torch.Tensor):
        t = images.detach().to("cpu", torch.float32)
        if t.ndim == 3:
            t = t[None]
        if t.ndim != 4 or tuple(t.shape[1:]) != (c, h, w) or t.shape[0] == 0:
            raise ValueError(f"a tensor of images must have shape (N, {c}, {h}, {w}) with N >= 1 for this model, "
                             f"got {tuple(images.shape)}; pass paths or PIL images to have them resized")
        if not torch.isfinite(t).all() or t.min() < 0 or t.max() > 1:
            raise ValueError(f"image values must lie in [0, 1], got [{float(t.nan_to_num().min()):.3g}, "
                             f"{float(t.nan_to_num().max()):.3g}]" + ("" if torch.isfinite(t).all() else " with NaN or inf"))
        return t.contiguous()
    items = list(images) if isinstance(images, (list, tuple)) else [images]
    if not 1 <= len(items) <= MAX_IMAGES:
        raise ValueError(f"give 1..{MAX_IMAGES} images per call, got {len(items)}" + (": no images given" if not items else ""))
    if h != w:
        raise ValueError(f"this model draws {h}x{w} images; only square models take files or PIL images")
    style = style or dataset_style(g) or "mnist"
    prepared = [torch.from_numpy(prepare_image(item, style=style, size=h)).float() for item in items]
    return torch.stack(prepared)[:, None].expand(-1, c, -1, -1).contiguous()       # (N, C, H, W)


# ---- the objective -------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _evaluator(name: str, device: str):
    from .metrics import load_evaluator

    return load_evaluator(name).to(device).requires_grad_(False)


def _blur(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> the same, blurred by a Gaussian of sigma 2 pixels (separable)."""
    r = torch.arange(-4, 5, dtype=x.dtype, device=x.device)
    k = torch.exp(-r ** 2 / 8)
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (4, 4, 0, 0)), k.view(1, 1, 1, 9).expand(c, 1, 1, 9), groups=c)
    return F.conv2d(F.pad(x, (0, 0, 4, 4)), k.view(1, 1, 9, 1).expand(c, 1, 9, 1), groups=c)


@dataclass
class _Target:
    pixels: torch.Tensor            # (B, C, H, W)
    coarse: torch.Tensor            # (B, C, H, W): blurred
    features: torch.Tensor | None   # (B, F) unit vectors, or None without an evaluator


def _target(x: torch.Tensor, evaluator) -> _Target:
    feats = None
    if evaluator is not None:
        with torch.no_grad():
            feats = F.normalize(evaluator.features(x), dim=1)
    return _Target(x, _blur(x), feats)


def _objective(x: torch.Tensor, z: torch.Tensor, t: _Target, evaluator, with_features: bool) -> torch.Tensor:
    """(B,) the loss of each candidate image x (B, C, H, W) with latent z (B, D) against t."""
    loss = (x - t.pixels).pow(2).flatten(1).mean(1)
    loss = loss + COARSE * (_blur(x) - t.coarse).pow(2).flatten(1).mean(1)
    if with_features and evaluator is not None:
        loss = loss + FEATURES * (1 - (F.normalize(evaluator.features(x), dim=1) * t.features).sum(1))
    return loss + PRIOR * (z.norm(dim=1) / math.sqrt(z.shape[1]) - 1).pow(2)


# ---- the search ----------------------------------------------------------------------------
def project(model: ImageGenerator, images: ImageInput | Sequence[ImageInput], *, labels: Labels = None,
            steps: int = 60, restarts: int | None = None, seed: int = 0, evaluator: str | None = None,
            record_every: int = 0) -> Projection:
    """Find the latents (and classes) whose images match ``images``; see the module doc.

    ``images``: a tensor (N, C, H, W) in [0, 1] of the model's image shape, used as is, or paths,
    PIL images or arrays (one or a list), prepared by ``prepare_image``. ``labels``: conditional
    models only; one class or one per image (int or name); when None, every class is tried and
    ``.labels`` holds the one that reconstructs best. ``restarts``: starting latents per image
    (per image and class). ``evaluator``: 'mnist' or 'fashion', the classifier whose features
    judge shape (default: the zoo model's own; none for a model outside the zoo). The same
    images and seed give the same result. ``record_every`` > 0 keeps the best image every so
    many steps in ``.frames``, for an animation of the search.
    """
    if restarts is None:
        restarts = 1 if labels is None and model.num_classes is not None else RESTARTS
    for name, value, hi in (("steps", steps, MAX_STEPS), ("restarts", restarts, MAX_RESTARTS)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= hi:
            raise ValueError(f"{name} must be an int in 1..{hi}, got {value!r}")
    if not isinstance(record_every, int) or isinstance(record_every, bool) or record_every < 0:
        raise ValueError(f"record_every must be an int >= 0 (0: no frames), got {record_every!r}")
    if model.training:
        raise RuntimeError("call .eval() before projecting: batch norm must not update")
    gen = make_generator(seed)                       # validates seed
    evaluator = evaluator or dataset_style(model)
    from .registry import evaluator_names
    if evaluator is not None and evaluator not in evaluator_names():
        raise ValueError(f"unknown evaluator {evaluator!r}; valid: {', '.join(evaluator_names())}")
    if evaluator is not None and tuple(model.image_shape) != (1, 28, 28):
        raise ValueError(f"the evaluators judge (1, 28, 28) images; this model draws {tuple(model.image_shape)}: "
                         "pass evaluator=None")
    targets = as_targets(model, images, style=evaluator)
    n = targets.shape[0]
    if n > MAX_IMAGES:
        raise ValueError(f"give 1..{MAX_IMAGES} images per call, got {n}")
    if labels is not None:
        given = model.check_labels(labels, n)
        classes = given[:, None]                     # (N, 1)
    elif model.num_classes is not None:
        classes = torch.arange(model.num_classes).expand(n, -1)   # (N, K): every class
    else:
        classes = None
    k = 1 if classes is None else classes.shape[1]
    bank_z = torch.randn(BANK_IMAGES // k, model.latent_dim, generator=gen)    # shared by every class
    if evaluator is None:
        log.info("%s is not a zoo model: matching pixels only (pass evaluator='mnist' or 'fashion' to judge shape)",
                 model.name or type(model).__name__)
    ev = _evaluator(evaluator, str(model.device)) if evaluator is not None else None
    fast = _fast_copy(model)
    per_chunk = max(1, CHUNK // (k * restarts))
    parts = [_project_chunk(model, fast, targets[i:i + per_chunk], None if classes is None else classes[i:i + per_chunk],
                            bank_z, ev, steps=steps, restarts=restarts, record_every=record_every)
             for i in range(0, n, per_chunk)]
    frames = torch.cat([p.frames for p in parts], 1) if record_every else None
    return Projection(latents=torch.cat([p.latents for p in parts]), images=torch.cat([p.images for p in parts]),
                      loss=torch.cat([p.loss for p in parts]), mse=torch.cat([p.mse for p in parts]),
                      targets=targets, labels=None if classes is None else torch.cat([p.labels for p in parts]),
                      frames=frames)


def _fast_copy(g: ImageGenerator) -> ImageGenerator:
    """A copy of g that draws the same images (to float rounding) with each batch norm folded into
    the layer before it (in eval mode it is an affine map): a quarter less work per step on a CPU.
    Its weights need no gradient, so only z gets one, and the caller's model is not touched."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    fast = copy.deepcopy(g).requires_grad_(False)
    for seq in [m for m in fast.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            layer, norm = seq[i], seq[i + 1]
            if not isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d)):
                continue
            if isinstance(layer, nn.ConvTranspose2d):
                seq[i] = fuse_conv_bn_eval(layer, norm, transpose=True)
            elif isinstance(layer, nn.Conv2d):
                seq[i] = fuse_conv_bn_eval(layer, norm)
            elif isinstance(layer, nn.Linear):
                seq[i] = fuse_linear_bn_eval(layer, norm)
            else:
                continue
            seq[i + 1] = nn.Identity()
    return fast


def _project_chunk(g, fast, targets, classes, bank_z, ev, *, steps, restarts, record_every) -> Projection:
    """``project`` for a few images: targets (n, C, H, W), classes (n, K) or None; ``fast`` is g's fast copy."""
    dev, dtype = g.device, g.dtype
    n = targets.shape[0]
    k = 1 if classes is None else classes.shape[1]
    m = bank_z.shape[0]

    def render(z, y):
        return fast(z.to(dev, dtype), None if y is None else y.to(dev)).float()

    # 1. starting points: each (image, class) takes its `restarts` nearest bank samples in pixels
    t_all = targets.to(dev)
    with torch.no_grad():
        used = [None] if classes is None else classes.unique().tolist()              # the classes searched
        bank = torch.stack([render(bank_z, None if c is None else torch.full((m,), c)) for c in used])  # (U, M, C, H, W)
        bank = torch.cat([bank.flatten(2), _blur(bank.flatten(0, 1)).view_as(bank).flatten(2)], 2)     # (U, M, 2P)
        t_flat = torch.cat([t_all.flatten(1), _blur(t_all).flatten(1)], 1)            # (N, 2P)
        rows = (torch.zeros(n, 1, dtype=torch.long) if classes is None
                else torch.searchsorted(torch.tensor(used), classes.contiguous()))    # (N, K): each class's row in bank
        dist = torch.cdist(t_flat, bank.flatten(0, 1)).view(n, len(used), m).cpu()    # (N, U, M)
        dist = dist.gather(1, rows[:, :, None].expand(-1, -1, m))                     # (N, K, M)
        nearest = dist.topk(min(restarts, m), dim=2, largest=False).indices           # (N, K, R)
    r = nearest.shape[2]
    z = bank_z[nearest].reshape(n * k * r, -1).to(dev)                               # (N*K*R, D)
    y = None if classes is None else classes[:, :, None].expand(n, k, r).reshape(-1)
    owner = torch.arange(n).repeat_interleave(k * r)                                 # candidate -> its image
    frames: list[torch.Tensor] = []

    def record(loss: torch.Tensor, x: torch.Tensor, step: int) -> None:
        if record_every and step % record_every == 0:
            frames.append(_best(loss, n, x.cpu()))

    done = 0
    # 2.-3. stages: Adam on every candidate left, then each image keeps its best few
    for share, keep, with_features in STAGES:
        per = owner.numel() // n
        if keep is not None and keep < per:
            with torch.no_grad():
                loss = _objective(render(z, y), z, _target(t_all[owner], ev), ev, True).cpu()
            chosen = (loss.view(n, per).topk(keep, dim=1, largest=False).indices + torch.arange(n)[:, None] * per).reshape(-1)
            z, owner = z[chosen.to(dev)], owner[chosen]
            y = None if y is None else y[chosen]
        n_steps = steps - done if with_features else int(steps * share)
        z = _descend(render, z, y, _target(t_all[owner], ev), ev, with_features, steps, done, n_steps, record)
        done += n_steps
    # 4. the winner of each image; its image drawn by the model itself
    with torch.no_grad():
        loss = _objective(render(z, y), z, _target(t_all[owner], ev), ev, True).cpu()
    per = owner.numel() // n
    best = loss.view(n, per).argmin(1) + torch.arange(n) * per
    latents, labels = z[best.to(dev)].cpu().float(), None if y is None else y[best]
    images = g.generate(latents, labels)
    if record_every:
        frames.append(images)
    return Projection(latents=latents, images=images, loss=loss[best], mse=(images - targets).pow(2).flatten(1).mean(1),
                      targets=targets, labels=labels, frames=torch.stack(frames) if record_every else None)


def _descend(render, z, y, target, ev, with_features, total, done, n_steps, record) -> torch.Tensor:
    """``n_steps`` Adam steps on the candidates z; the step size is LR for the first half of all
    ``total`` steps of the search, then falls linearly to 0 (``done`` steps came before)."""
    z = z.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=LR)
    for s in range(done, done + n_steps):
        opt.param_groups[0]["lr"] = LR * min(1.0, 2 * (1 - s / total))
        x = render(z, y)
        loss = _objective(x, z, target, ev, with_features)
        record(loss.detach(), x.detach(), s)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
    return z.detach()


def _best(loss: torch.Tensor, n: int, x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W): for each of the n images, its candidate in x with the lowest loss."""
    per = loss.cpu().view(n, -1)
    return x[per.argmin(1) + torch.arange(n) * per.shape[1]].clamp(0, 1)
