#!/usr/bin/env python
"""Evaluate generators with ganzoo.metrics and write the results as JSON.

    python -m training.evaluate dcgan-mnist runs/cgan-mnist --data ../shared/data/mnist-10k

Each argument is anything ganzoo.load takes. Results go to OUT/NAME.json (default
training/results/), with the evaluator's and the data's sha256 beside the figures.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path


import torch

from ganzoo.metrics import evaluate_model

log = logging.getLogger("ganzoo.evaluate")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--data", default="../shared/data/mnist-10k")
    p.add_argument("--evaluator", help="mnist or fashion (default: from the zoo entry)")
    p.add_argument("-n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--spread", type=int, default=0, metavar="N",
                   help="also measure FID with the next N sampling seeds, to show how much of a difference is noise")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec in args.models:
        t0 = time.perf_counter()
        res = evaluate_model(spec, args.data, evaluator=args.evaluator, n=args.n, seed=args.seed, device=device,
                             progress=True)
        if args.spread:
            res["fid_by_seed"] = {str(args.seed): res["fid"]}
            for s in range(args.seed + 1, args.seed + 1 + args.spread):
                res["fid_by_seed"][str(s)] = evaluate_model(spec, args.data, evaluator=args.evaluator, n=args.n, seed=s,
                                                            device=device, progress=True)["fid"]
        res.update(seconds=round(time.perf_counter() - t0, 1), device=device)
        name = Path(spec).name
        (out / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
        keys = ("fid", "fid_floor", "kid", "kid_floor", "class_share_min", "class_share_max", "class_accuracy", "precision", "recall",
                "diversity", "copies", "mean_confidence", "fid_by_seed")
        log.info("%s: %s", name, ", ".join(f"{k}={res[k]}" for k in keys if k in res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
