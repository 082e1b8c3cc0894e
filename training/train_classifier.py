#!/usr/bin/env python
"""Train the evaluator: a small CNN classifier of a data set, used by ganzoo.metrics.

    python -m training.train_classifier --data ../shared/data/mnist-10k --name mnist

MNIST-10k has no test split, so a fixed permutation (seed 0) holds out 2,000 images: the
classifier trains on the other 8,000 and reports its accuracy on the held-out ones, which
ganzoo.metrics then uses as the real reference. Writes ganzoo/evaluators/NAME-classifier.
{safetensors,json}.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path


import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tqdm.auto import tqdm

from ganzoo.data import load_dataset
from ganzoo.hub import atomic_path, file_sha256
from ganzoo.metrics import EVALUATOR_DIR, HELDOUT, SPLIT_SEED, DigitClassifier, heldout_split

log = logging.getLogger("ganzoo.train_classifier")


def shift(x: torch.Tensor, gen: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translation by up to max_shift pixels (zero padding), one offset per batch."""
    dx, dy = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=gen))
    return torch.roll(F.pad(x, [max_shift] * 4), (dy, dx), dims=(2, 3))[..., max_shift:-max_shift, max_shift:-max_shift]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/mnist-10k")
    p.add_argument("--name", default="mnist")
    p.add_argument("--test-split", action="store_true", help="use the data set's own test split (t10k) as held-out")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(EVALUATOR_DIR))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ds = load_dataset(args.data)
    if args.test_split:
        test = load_dataset(args.data, split="test")
        x_tr, y_tr, x_te, y_te = ds.images, ds.labels, test.images, test.labels
    else:
        tr, te = heldout_split(len(ds))
        x_tr, y_tr, x_te, y_te = ds.images[tr], ds.labels[tr], ds.images[te], ds.labels[te]
    x_tr, y_tr = x_tr.to(device).float() / 255, y_tr.to(device)
    x_te, y_te = x_te.to(device).float() / 255, y_te.to(device)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = DigitClassifier(num_classes=int(ds.labels.max()) + 1, channels=ds.images.shape[1]).to(device)
    steps = args.epochs * (x_tr.shape[0] // args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    t0 = time.perf_counter()
    for step in tqdm(range(steps), desc=f"classifier {args.name}"):
        idx = torch.randint(0, x_tr.shape[0], (args.batch_size,), generator=gen).to(device)
        loss = F.cross_entropy(model(shift(x_tr[idx], gen)), y_tr[idx], label_smoothing=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.inference_mode():
        acc = float((torch.cat([model(x_te[i:i + 1000]).argmax(1) for i in range(0, x_te.shape[0], 1000)]) == y_te)
                    .float().mean())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{args.name}-classifier.safetensors"
    heldout = "test split (t10k)" if args.test_split else f"randperm(seed={SPLIT_SEED})[:{HELDOUT}]"
    # what the file is, in its own header (safetensors metadata is text only)
    header = {"format": "pt", "ganzoo_evaluator": args.name, "dataset": ds.name, "num_classes": str(model.head.out_features),
              "heldout": heldout, "heldout_accuracy": str(round(acc, 4)), "architecture": "ganzoo.metrics.DigitClassifier"}
    with atomic_path(weights) as tmp:
        save_file({k: v.cpu().contiguous() for k, v in model.state_dict().items()}, tmp, metadata=header)
    meta = {"dataset": args.name, "num_classes": model.head.out_features, "channels": ds.images.shape[1],
            "train_images": int(x_tr.shape[0]), "heldout_images": int(x_te.shape[0]), "heldout": heldout,
            "heldout_accuracy": round(acc, 4), "epochs": args.epochs, "seconds": round(time.perf_counter() - t0, 1),
            "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "sha256": file_sha256(weights)}
    weights.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("held-out accuracy %.4f -> %s", acc, weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
