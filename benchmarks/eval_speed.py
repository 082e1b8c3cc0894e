#!/usr/bin/env python
"""How long the evaluation of a zoo model takes (10,000 samples by default), on the CPU by default.

    python benchmarks/eval_speed.py [--mnist ../shared/data/mnist-10k] [--fashion /usr/share/datasets/fashion-mnist]
                                    [--models dcgan-fashion ...] [-n 10000] [--device cpu]

For each model: the whole of ``ganzoo.metrics.evaluate_model`` (what ``ganzoo eval`` does after
its imports: load the judge and the model, read the data, sample, classify, every metric), and
apart from it the time to read the data, draw the samples and pass samples and held-out images
through the judge. A data set whose folder is missing is skipped with a note.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.metrics import embed, evaluate_model, load_evaluator, load_reference  # noqa: E402
from ganzoo.registry import EVALUATORS  # noqa: E402
from training.export import device_name  # noqa: E402


def seconds(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", default="../shared/data/mnist-10k", help="mnist-10k folder")
    p.add_argument("--fashion", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST folder")
    p.add_argument("--models", nargs="+", default=ganzoo.list_models(), choices=ganzoo.list_models())
    p.add_argument("-n", type=int, default=10_000)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    folders = {"mnist-10k": args.mnist, "fashion-mnist": args.fashion}
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {device_name(torch.device(args.device))}, n={args.n}")
    print(f"{'model':<16} {'evaluate (s)':>12} {'read data':>10} {'sample':>8} {'classify':>9}")
    for name in args.models:
        dataset = ganzoo.get_entry(name).dataset
        data = folders[dataset]
        if not Path(data).is_dir():
            print(f"{name:<16} skipped: no {dataset} at {data!r}")
            continue
        total, _ = seconds(lambda: evaluate_model(name, data, n=args.n, device=args.device))
        read, ref = seconds(lambda: load_reference(data))
        g = ganzoo.load(name, device=args.device)
        labels = torch.arange(args.n) % g.num_classes if g.num_classes is not None else None
        sample, images = seconds(lambda: g.sample(args.n, labels=labels, seed=0))
        judge = load_evaluator(EVALUATORS[dataset]).to(args.device)
        classify, _ = seconds(lambda: (embed(judge, images), embed(judge, ref.heldout)))
        print(f"{name:<16} {total:>12.1f} {read:>10.1f} {sample:>8.1f} {classify:>9.1f}", flush=True)
    print("\nevaluate: the whole evaluation; read data, sample and classify (samples and held-out images)\n"
          "are parts of it, timed again on their own.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
