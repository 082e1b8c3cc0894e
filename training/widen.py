"""Net2WiderNet (Chen et al. 2016): a trained generator's weights in a wider generator that draws
the same images, so that a wider model can start from a trained narrow one instead of from scratch.

Each hidden unit of the narrow net becomes k copies in the wide one (unit j of the wide layer is
unit j mod n of the narrow one, with its batch-norm statistics). The next layer splits each
incoming weight among the copies: W/k plus noise that sums to zero over the copies, so the sum,
and with it every output, is unchanged, while the copies get different gradients and grow apart.
"""
from __future__ import annotations

import logging

import torch
from torch import nn

import ganzoo
from ganzoo.hub import file_sha256
from ganzoo.models import family_of
from training.config import TrainingError, resolve_path

log = logging.getLogger("ganzoo.train")

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


class WidenError(ValueError):
    pass


def _out_dim(layer: nn.Module) -> int:
    return 1 if isinstance(layer, nn.ConvTranspose2d) else 0   # ConvTranspose2d: (in, out, kh, kw)


def _leaves(net: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in net.named_modules() if not list(m.children()) and any(True for _ in m.state_dict())]


@torch.no_grad()
def widen(src: nn.Module, dst: nn.Module, *, noise: float = 0.01, generator: torch.Generator | None = None) -> None:
    """Copies src's weights into dst, an instance of the same architecture whose hidden layers are
    whole multiples as wide (same input and output sizes), so that dst(x) == src(x) in eval and in
    train mode. noise: std of the symmetry-breaking split, relative to each weight's std."""
    src_leaves, dst_leaves = _leaves(src), _leaves(dst)
    if [(n, type(m)) for n, m in src_leaves] != [(n, type(m)) for n, m in dst_leaves]:
        raise WidenError(f"not the same architecture: {[n for n, _ in src_leaves]} vs {[n for n, _ in dst_leaves]}")
    copies_of: torch.Tensor | None = None       # unit index map of the last widened layer's output
    for (name, s), (_, d) in zip(src_leaves, dst_leaves):
        if isinstance(s, WEIGHTED):
            w, o = s.weight.float(), _out_dim(s)
            i = 1 - o
            if copies_of is not None:                                   # split the inputs among the copies
                k = d.weight.shape[i] // w.shape[i]
                w = w.index_select(i, copies_of) / k
                split = torch.randn(w.shape, generator=generator) * noise * w.std()
                groups = split.unflatten(i, (k, -1))                      # (.., k copies, n units, ..)
                w = w + (groups - groups.mean(dim=i, keepdim=True)).flatten(i, i + 1)
            elif w.shape[i] != d.weight.shape[i]:
                raise WidenError(f"{name}: input size {w.shape[i]} -> {d.weight.shape[i]}; only hidden layers can widen")
            copies_of = _unit_map(name, w.shape[o], d.weight.shape[o])
            d.weight.copy_(w.index_select(o, copies_of))
            if s.bias is not None:
                d.bias.copy_(s.bias.index_select(0, copies_of))
        elif isinstance(s, NORMS):
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(d, key).copy_(getattr(s, key).index_select(0, copies_of))
            d.num_batches_tracked.copy_(s.num_batches_tracked)
        else:                                   # embeddings and the like: copied as they are
            d.load_state_dict(s.state_dict())
    if copies_of is not None and len(copies_of) != len(torch.unique(copies_of)):
        raise WidenError(f"the output layer {src_leaves[-1][0]} would widen; only hidden layers can")


def _unit_map(name: str, n: int, wide: int) -> torch.Tensor:
    if wide % n:
        raise WidenError(f"{name}: {n} -> {wide} units is not a whole multiple")
    return torch.arange(wide) % n


def init_generator(G: ganzoo.ImageGenerator, spec: str, *, family: str, seed: int) -> dict[str, str]:
    """G's weights and batch-norm statistics from the trained generator ``spec`` (zoo name,
    hf-hub:owner/repo or folder), widened when G is wider, so a run whose checkpoint (with its D)
    is gone can go on from the generator it shipped. Returns what was loaded, for the card."""
    folder = resolve_path(spec)
    try:
        with torch.random.fork_rng(devices=[]):   # building it draws weights: leave D's init as from scratch
            src = ganzoo.load(folder if folder.is_dir() else spec)
    except (ganzoo.GanzooError, ValueError) as e:
        raise TrainingError(f"init_from={spec!r}: {e}") from None
    if family_of(src) != family:
        raise TrainingError(f"init_from={spec!r} is a {family_of(src)} generator; this recipe trains {family}")
    same_shapes = {k: v.shape for k, v in src.state_dict().items()} == {k: v.shape for k, v in G.state_dict().items()}
    try:
        if same_shapes:
            G.load_state_dict(src.state_dict())
        else:
            widen(src, G, generator=torch.Generator().manual_seed(seed))
    except (RuntimeError, WidenError) as e:
        raise TrainingError(f"init_from={spec!r} does not fit the recipe's generator; give the model options it was "
                            f"trained with ({src.config_dict()}), or whole multiples of its widths. {e}") from None
    log.info("G starts from %s (step 0; D untrained%s)", spec, "" if same_shapes else f"; widened from {src.config_dict()}")
    return {"from": spec, "sha256": file_sha256(src.weights_file)}
