#!/usr/bin/env python
"""How well ganzoo.project finds real images in each zoo model; writes training/results/projection.json.

    python -m training.project_quality                        # every zoo model, 500 images each
    python -m training.project_quality cgan-mnist -n 100 --threads 2

Images: for the Fashion-MNIST models the first n of its 10,000 test images, which the generators
never saw. For the MNIST models the first n of the 2,000 mnist-10k digits that ganzoo.metrics
holds out (heldout_split): the evaluator never saw them, but the generators were trained on all
10,000 digits of mnist-10k, so these digits were in their training set (there is no other MNIST
data on these machines). Each image is used as the data set stores it (28x28, already centred).

Per model: the reconstructions' mean squared pixel error; the baseline, the nearest (in pixels)
of 10,000 random samples (seed 1); how often the evaluator classifies the reconstruction as the
target's class (and the nearest sample, and the target itself); for conditional models how often
``.labels`` is the target's class; and the time taken (wall and CPU seconds, the threads used and
the load average of the machine, which others may share).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.data import load_dataset
from ganzoo.metrics import embed, heldout_split, load_evaluator
from ganzoo.projection import RESTARTS
from training.export import cpu_name

log = logging.getLogger("ganzoo.project_quality")

REPO = Path(__file__).resolve().parents[1]
DATA = {"mnist-10k": REPO.parent / "shared" / "data" / "mnist-10k",
        "fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
BASELINE_SAMPLES, BASELINE_SEED = 10_000, 1

FIELDS = {
    "images": "which real images were projected",
    "generator_saw_them": "whether the generator was trained on these images",
    "n": "images projected", "steps": "ganzoo.project steps", "restarts": "starting latents per image (and class)",
    "seed": "ganzoo.project seed",
    "mse": "mean over images of the reconstruction's mean squared pixel error (pixels in [0, 1])",
    "baseline_mse": f"the same for the nearest in pixels of {BASELINE_SAMPLES:,} random samples (seed {BASELINE_SEED})",
    "mse_ratio": "mse / baseline_mse (aim: at most 0.7)",
    "evaluator_agreement": "share of reconstructions the evaluator classifies as the target's class (aim: >= 0.9)",
    "baseline_evaluator_agreement": "the same for the nearest random sample",
    "evaluator_on_targets": "share of the targets themselves the evaluator classifies right (the ceiling)",
    "label_accuracy": "conditional models: share of images whose .labels is the target's class (aim: >= 0.9)",
    "baseline_label_accuracy": "conditional models: the same for the nearest random sample's class",
    "seconds": "wall seconds of ganzoo.project for all n images", "cpu_seconds": "CPU seconds of the same",
    "seconds_per_100": "wall seconds per 100 images", "threads": "torch threads",
    "load_average": "1-minute load average before and after (other processes share the cores)",
}


def real_images(name: str, n: int) -> tuple[torch.Tensor, torch.Tensor, str, bool]:
    """(images (n, 1, 28, 28) in [0, 1], labels (n,), what they are, whether the generator saw them)."""
    dataset = ganzoo.get_entry(name).dataset
    folder = DATA[dataset]
    if dataset == "fashion-mnist":
        ds = load_dataset(folder, split="test")
        return (ds.images[:n].float() / 255, ds.labels[:n],
                f"first {n} of the 10,000 Fashion-MNIST test images", False)
    ds = load_dataset(folder)
    _, idx = heldout_split(len(ds))
    return (ds.images[idx[:n]].float() / 255, ds.labels[idx[:n]],
            (f"first {n} of the {len(idx):,} mnist-10k digits of ganzoo.metrics.heldout_split (held out from the "
             "evaluator; the generator was trained on all of mnist-10k)"), True)


def measure(name: str, n: int, steps: int, seed: int) -> tuple[dict, ganzoo.Projection]:
    g = ganzoo.load(name)
    images, labels, what, seen = real_images(name, n)
    evaluator = load_evaluator(ganzoo.projection.dataset_style(g))
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    result = ganzoo.project(g, images, steps=steps, seed=seed)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0

    gen = torch.Generator().manual_seed(BASELINE_SEED)
    z = torch.randn(BASELINE_SAMPLES, g.latent_dim, generator=gen)
    bank_labels = None if g.num_classes is None else torch.randint(0, g.num_classes, (BASELINE_SAMPLES,), generator=gen)
    bank = g.generate(z, bank_labels)
    d = torch.cdist(images.flatten(1), bank.flatten(1)).pow(2) / images[0].numel()   # (n, samples) mean squared error
    nearest_mse, nearest = d.min(1)

    out = {
        "images": what, "generator_saw_them": seen, "n": n, "steps": steps,
        "restarts": 1 if g.num_classes is not None else RESTARTS, "seed": seed,
        "mse": float(result.mse.mean()), "baseline_mse": float(nearest_mse.mean()),
        "mse_ratio": float(result.mse.mean() / nearest_mse.mean()),
        "evaluator_agreement": float((embed(evaluator, result.images).pred == labels).double().mean()),
        "baseline_evaluator_agreement": float((embed(evaluator, bank[nearest]).pred == labels).double().mean()),
        "evaluator_on_targets": float((embed(evaluator, images).pred == labels).double().mean()),
    }
    if g.num_classes is not None:
        out["label_accuracy"] = float((result.labels == labels).double().mean())
        out["baseline_label_accuracy"] = float((bank_labels[nearest] == labels).double().mean())
    out.update(seconds=seconds, cpu_seconds=cpu, seconds_per_100=seconds * 100 / n, threads=torch.get_num_threads(),
               load_average=[round(load_before, 2), round(os.getloadavg()[0], 2)])
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}, result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", help="zoo names (default: all)")
    p.add_argument("-n", type=int, default=500, help="images per model (default 500)")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steady timings on shared cores)")
    p.add_argument("--out", default=str(REPO / "training" / "results" / "projection.json"))
    p.add_argument("--figure", help="also write a PNG: per model, 10 targets above their reconstructions")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    names = args.models or ganzoo.list_models()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results.update(method="ganzoo.project (docs/projection.md)", fields=FIELDS,
                   machine=f"{cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__}")
    results.setdefault("models", {})
    rows = []
    for name in names:
        res, projection = measure(name, args.n, args.steps, args.seed)
        results["models"][name] = res
        out.write_text(json.dumps(results, indent=2) + "\n")
        log.info("%s: %s", name, ", ".join(f"{k}={v}" for k, v in res.items() if k not in ("images",)))
        rows += [projection.targets[:10], projection.images[:10]]
    if args.figure:
        ganzoo.make_grid(torch.cat(rows), nrow=10, scale=2, pad_value=0.3).save(args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
