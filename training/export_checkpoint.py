#!/usr/bin/env python
"""Write the generator of a training checkpoint as a folder that ganzoo.load reads.

    python -m training.export_checkpoint runs/cgan-fashion            # -> runs/cgan-fashion/step-NNNNNN
    python -m training.export_checkpoint runs/cgan-fashion --out /tmp/cgan-now
    python -m training.evaluate runs/cgan-fashion/step-NNNNNN --evaluator fashion ...

A run writes model.safetensors only when it ends; this reads OUT/checkpoint.safetensors
(written atomically, so it is safe while the run goes on) and exports the EMA generator
when the run keeps one, with its batch-norm statistics re-measured, as the run's own export does.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganzoo.models import build_generator, make_config
from training.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint
from training.export import export_generator
from training.step import EMA


def export_checkpoint(run: str | Path, out: str | Path | None = None) -> Path:
    """Export RUN/checkpoint.safetensors; returns the folder written (default RUN/step-NNNNNN)."""
    run = Path(run)
    st = load_checkpoint(run / CHECKPOINT_NAME)
    cfg, step = st["config"], st["step"]
    G = build_generator(cfg["family"], make_config(cfg["family"], cfg["model"]))
    training = {"steps": step, "seed": cfg["seed"], "checkpoint": str(run / CHECKPOINT_NAME)}
    if st.get("init_source") is not None:     # the run started from a trained generator (init_from)
        training["init_from"] = st["init_source"]
    if st["ema"] is not None:
        ema = EMA(G, cfg["ema_decay"])
        ema.load_state_dict(st["ema"])
        G = ema.module
    else:
        G.load_state_dict(st["G"])
    folder = Path(out) if out is not None else run / f"step-{step:06d}"
    return export_generator(G, folder, ema=st["ema"] is not None, bn_batches=cfg.get("bn_batches", 200),
                            batch_size=cfg["batch_size"], seed=cfg["seed"], training=training,
                            name=cfg["name"], data=cfg["data"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a training output folder holding checkpoint.safetensors")
    p.add_argument("--out", help="folder to write (default RUN/step-NNNNNN)")
    args = p.parse_args(argv)
    try:
        print(export_checkpoint(args.run, args.out))
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
