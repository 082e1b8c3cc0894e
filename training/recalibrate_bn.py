#!/usr/bin/env python
"""Re-measure the batch-norm statistics of a trained generator under its own (EMA) weights.

    python -m training.recalibrate_bn runs/cgan-fashion                 # rewrites the folder
    python -m training.recalibrate_bn runs/cgan-fashion --out /tmp/cgan-bn --batches 400

The trainer does this at export (bn_batches, training/export.py); this applies it to a model
folder exported without it, keeping its config.json and recording the step there
(docs/training.md says what it did to the zoo's FIDs).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import ganzoo
from ganzoo.hub import CONFIG_NAME
from training.config import TrainConfig, load_config
from training.export import recalibrate_batchnorm


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="a folder holding config.json and model.safetensors")
    p.add_argument("--out", type=Path, help="folder to write (default: rewrite MODEL)")
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--batch-size", type=int, help="default: the run's train_config.yaml batch_size, else the trainer's default (128)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.batches < 1:
        p.error(f"--batches must be at least 1, got {args.batches}")
    if not (args.model / CONFIG_NAME).is_file():
        p.error(f"{str(args.model)!r} is not a model folder: no {CONFIG_NAME}")
    batch_size = args.batch_size or _run_batch_size(args.model)
    if batch_size < 2:
        p.error(f"--batch-size must be at least 2 (batch norm needs a batch), got {batch_size}")
    g = ganzoo.load(args.model)
    meta = json.loads((args.model / CONFIG_NAME).read_text())
    bn = recalibrate_batchnorm(g, batches=args.batches, batch_size=batch_size, seed=args.seed)
    if bn is None:
        print(f"error: {str(args.model)!r} has no batch norm to re-measure", file=sys.stderr)
        return 2
    extra = {k: v for k, v in meta.items() if k not in ("family", "config", "ganzoo_version")}
    extra["training"] = {**extra.get("training", {}), "bn_recalibrated": bn}
    print(ganzoo.save_pretrained(g.eval(), args.out or args.model, **extra))
    return 0


def _run_batch_size(folder: Path) -> int:
    recipe = folder / "train_config.yaml"
    return load_config(recipe).batch_size if recipe.is_file() else TrainConfig.batch_size


if __name__ == "__main__":
    sys.exit(main())
