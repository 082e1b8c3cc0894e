#!/usr/bin/env python
"""Evaluate generators with ganzoo.metrics and write the results as JSON.

    python training/evaluate.py dcgan-mnist runs/cgan-mnist --data ../shared/data/mnist-10k

Each argument is anything ganzoo.load takes. Results go to OUT/NAME.json (default
training/results/), with the evaluator's and the data's sha256 beside the figures.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.data import DatasetError, load_dataset  # noqa: E402
from ganzoo.metrics import EVALUATOR_DIR, Reference, evaluate, load_evaluator  # noqa: E402
from training.train_classifier import split  # noqa: E402

log = logging.getLogger("ganzoo.evaluate")


def reference(data: str) -> Reference:
    """The data set's own test split as held-out digits when it has one (Fashion-MNIST);
    otherwise (mnist-10k) the 2,000 images the evaluator was not trained on."""
    ds = load_dataset(data)
    images = ds.images.float() / 255
    try:
        test = load_dataset(data, split="test")
    except DatasetError:
        tr, te = split(len(ds))
        return Reference(heldout=images[te], heldout_labels=ds.labels[te], train=images, rest=images[tr])
    return Reference(heldout=test.images.float() / 255, heldout_labels=test.labels, train=images, rest=images)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--data", default="../shared/data/mnist-10k")
    p.add_argument("--evaluator", default="mnist")
    p.add_argument("-n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    clf = load_evaluator(args.evaluator).to(device)
    ref = reference(args.data)
    meta = json.loads((EVALUATOR_DIR / f"{args.evaluator}-classifier.json").read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec in args.models:
        t0 = time.perf_counter()
        g = ganzoo.load(spec, device=device)
        res = evaluate(g, clf, ref, n=args.n, seed=args.seed)
        res.update(model=spec, evaluator=args.evaluator, evaluator_sha256=meta["sha256"],
                   evaluator_heldout_accuracy=meta["heldout_accuracy"],
                   reference_sha256=hashlib.sha256(ref.heldout.numpy().tobytes()).hexdigest(),
                   seconds=round(time.perf_counter() - t0, 1), device=device)
        name = Path(spec).name
        (out / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
        keys = ("fid", "fid_floor", "class_share_min", "class_share_max", "class_accuracy", "precision", "recall",
                "diversity", "copies", "mean_confidence")
        log.info("%s: %s", name, ", ".join(f"{k}={res[k]}" for k in keys if k in res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
