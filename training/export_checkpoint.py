#!/usr/bin/env python
"""Write the generator of a training checkpoint as a folder that ganzoo.load reads.

    python training/export_checkpoint.py runs/cgan-fashion            # -> runs/cgan-fashion/step-NNNNNN
    python training/export_checkpoint.py runs/cgan-fashion --out /tmp/cgan-now
    python training/evaluate.py runs/cgan-fashion/step-NNNNNN --evaluator fashion ...

A run writes model.safetensors only when it ends; this reads OUT/checkpoint.safetensors
(written atomically, so it is safe while the run goes on) and exports the EMA generator
when the run keeps one, with its batch-norm statistics re-measured, as the run's own export does.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch.optim.swa_utils import AveragedModel  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.models import build_generator, make_config  # noqa: E402
from training.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint  # noqa: E402
from training.train import recalibrate_batchnorm  # noqa: E402


def export_checkpoint(run: str | Path, out: str | Path | None = None) -> Path:
    """Export RUN/checkpoint.safetensors; returns the folder written (default RUN/step-NNNNNN)."""
    run = Path(run)
    st = load_checkpoint(run / CHECKPOINT_NAME)
    cfg, step = st["config"], st["step"]
    G = build_generator(cfg["family"], make_config(cfg["family"], cfg["model"]))
    training = {"steps": step, "seed": cfg["seed"], "ema": st["ema"] is not None, "checkpoint": str(run / CHECKPOINT_NAME)}
    if st.get("init_source") is not None:     # the run started from a trained generator (init_from)
        training["init_from"] = st["init_source"]
    if st["ema"] is not None:       # the trainer's AveragedModel; loading into one maps its keys back
        ema = AveragedModel(G, use_buffers=True)
        ema.load_state_dict(st["ema"])
        G = ema.module
        bn = recalibrate_batchnorm(G, batches=cfg.get("bn_batches", 200), batch_size=cfg["batch_size"], seed=cfg["seed"])
        if bn is not None:
            training["bn_recalibrated"] = bn
    else:
        G.load_state_dict(st["G"])
    folder = Path(out) if out is not None else run / f"step-{step:06d}"
    return ganzoo.save_pretrained(G.eval(), folder, name=cfg["name"], data=cfg["data"], training=training)


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
