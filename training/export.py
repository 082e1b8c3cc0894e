"""What a run leaves behind: the exported generator (EMA weights, batch norm re-measured), sample
grids, the loss plot, the interpolation GIF and the run summary.
"""
from __future__ import annotations

import copy
import json
import logging
import platform
from pathlib import Path

import torch

import ganzoo

log = logging.getLogger("ganzoo.train")


def cpu_name() -> str:
    """The CPU's model name, as lscpu gives it (the machine a figure was measured on)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """The machine a run or benchmark used: the GPU's name, or the CPU with its vector extension and threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    # the vector extension decides the speed (bf16 is emulated without AVX-512 or AMX), so record it
    return (f"cpu ({platform.processor() or platform.machine()} {torch.backends.cpu.get_cpu_capability()}, "
            f"{torch.get_num_threads()} threads)")


def recalibrate_batchnorm(g: ganzoo.ImageGenerator, *, batches: int, batch_size: int, seed: int = 0) -> dict | None:
    """Re-measure g's batch-norm running statistics, in place, on ``batches`` batches of its own samples.

    The EMA generator keeps an average of the live generator's statistics, each measured under
    other weights than the averaged ones it ships with. This measures them under the shipped
    weights, as SWA's update_bn does: a cumulative mean of the batch statistics over latents
    z ~ N(0, I) (and uniform labels), drawn from ``seed`` on the CPU. Only buffers change.
    Returns the settings, for config.json, or None when g has no batch norm.
    """
    bns = [m for m in g.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns or batches < 1:
        return None
    was_training, momenta = g.training, [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None                       # cumulative mean over all batches
    gen = torch.Generator().manual_seed(seed)
    g.train()
    with torch.no_grad():
        for _ in range(batches):
            z = torch.randn(batch_size, g.latent_dim, generator=gen)
            y = None if g.num_classes is None else torch.randint(0, g.num_classes, (batch_size,), generator=gen)
            g(z.to(g.device), None if y is None else y.to(g.device))
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
    g.train(was_training)
    return {"batches": batches, "batch_size": batch_size, "seed": seed}


def export_generator(g: ganzoo.ImageGenerator, folder: Path, *, ema: bool, bn_batches: int, batch_size: int,
                     seed: int, training: dict, **card) -> Path:
    """Writes ``g`` as a model folder (config.json + model.safetensors) that ganzoo.load reads.

    An EMA generator is exported from a copy whose batch-norm statistics are re-measured under
    its own weights (the run's checkpoint keeps the averaged ones).
    """
    training = dict(training, ema=ema)
    if ema:
        g = copy.deepcopy(g)
        bn = recalibrate_batchnorm(g, batches=bn_batches, batch_size=batch_size, seed=seed)
        if bn is not None:
            training["bn_recalibrated"] = bn
    return ganzoo.save_pretrained(g.eval(), folder, training=training, **card)


def save_samples(g: ganzoo.ImageGenerator, path: Path, *, seed: int) -> None:
    """An 8x8 grid of g's samples (conditional models: the classes in turn), g left in its mode."""
    was_training = g.training
    g.eval()
    labels = (torch.arange(64) % g.num_classes) if g.num_classes is not None else None
    images = g.sample(64, labels=labels, seed=seed)
    g.train(was_training)
    path.parent.mkdir(exist_ok=True)
    ganzoo.make_grid(images, nrow=8, scale=2).save(path)


def save_interpolation(folder: Path) -> None:
    """interpolation.gif of the exported model in ``folder``: seed 0 to seed 1 and back."""
    trained = ganzoo.load(folder)
    label = 0 if trained.num_classes is not None else None
    ganzoo.save_gif(ganzoo.interpolate(trained, start=0, end=1, steps=24, labels=label),
                    folder / "interpolation.gif", fps=12, boomerang=True)


def plot_losses(log_path: Path, png_path: Path) -> None:
    """Loss curves and D outputs per step, from log.jsonl."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [json.loads(ln) for ln in log_path.read_text().splitlines() if ln.strip()]
    if not recs:
        return
    steps = [r["step"] for r in recs]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot(steps, [r["loss_d"] for r in recs], label="D loss")
    ax1.plot(steps, [r["loss_g"] for r in recs], label="G loss")
    ax1.set_xlabel("generator step"), ax1.legend(), ax1.set_title("losses")
    ax2.plot(steps, [r["d_real"] for r in recs], label="D(x)")
    ax2.plot(steps, [r["d_fake"] for r in recs], label="D(G(z))")
    ax2.axhline(0.5, color="grey", lw=0.5)
    ax2.set_xlabel("generator step"), ax2.legend(), ax2.set_title("discriminator outputs")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
