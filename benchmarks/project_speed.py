#!/usr/bin/env python
"""Speed of ganzoo.project: 100 digits (or Fashion images) at once, and one drawing as the demo sends it.

    python benchmarks/project_speed.py [MODEL ...] [--n 100] [--threads 2] [--device cpu]

Prints, per model, the wall and CPU seconds of one ``project`` call on n images (the held-out
images of training/project_quality.py when the data is on this machine, else the model's own
samples), and the median wall seconds of projecting one 280x280 drawing (3 runs), with the
machine's CPU, the torch threads and the load average before and after: other processes on the
same cores slow every figure down, so read them together with the load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.export import cpu_name  # noqa: E402


def targets(g, name: str, n: int):
    """(n images, where they come from)."""
    from ganzoo.data import DatasetError, load_dataset
    from ganzoo.metrics import heldout_split

    repo = Path(__file__).resolve().parents[1]
    try:
        if "fashion" in name:
            ds = load_dataset("/usr/share/datasets/fashion-mnist", split="test")
            return ds.images[:n].float() / 255, "Fashion-MNIST test images"
        ds = load_dataset(repo.parent / "shared" / "data" / "mnist-10k")
        return ds.images[heldout_split(len(ds))[1][:n]].float() / 255, "mnist-10k held-out digits"
    except DatasetError:
        return g.sample(n, seed=99), "the model's own samples (seed 99; the data is not on this machine)"


def drawing():
    """A '7' drawn as on the demo's 280x280 sketchpad: black strokes on a transparent canvas."""
    from PIL import Image, ImageDraw
    im = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(im).line([(80, 60), (200, 60), (120, 230)], fill=(0, 0, 0, 255), width=16)
    return im


def main() -> None:
    import torch

    import ganzoo

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", help="zoo names (default: all)")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{cpu_name()}, {len(os.sched_getaffinity(0))} cores usable, torch {torch.__version__}, "
          f"{args.threads} threads, device {args.device}")
    for name in args.models or ganzoo.list_models():
        g = ganzoo.load(name, device=args.device)
        x, what = targets(g, name, args.n)
        ganzoo.project(g, x[:2], steps=4)                                  # warm-up: evaluator, allocator
        load0 = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        result = ganzoo.project(g, x)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        one = []
        for _ in range(3):
            t = time.perf_counter()
            ganzoo.project(g, [drawing()])
            one.append(time.perf_counter() - t)
        print(f"{name:<14} {args.n} {what}: {wall:6.1f} s wall, {cpu:6.1f} s CPU (mse {float(result.mse.mean()):.4f}); "
              f"one drawing {statistics.median(one):.2f} s; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
