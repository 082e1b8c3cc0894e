#!/usr/bin/env python
"""Two questions about an unconditional model's FID, answered with the zoo's judge:

- does its class mix explain it? FID again after resampling the samples (by the judge's class)
  to the held-out images' class mix;
- does truncating the latent help? FID of z * psi for a few psi, with precision and recall.

    python -m training.probe_fid runs/f5/dcA/step-036500 --data /usr/share/datasets/fashion-mnist --evaluator fashion

Figures compare 5,000 samples (seed 0) with the first 5,000 held-out images, as ``ganzoo eval`` does.
"""
from __future__ import annotations

import argparse
import sys


import torch

import ganzoo
from ganzoo.metrics import (embed, evaluator_names, frechet_distance, load_evaluator, load_reference,
                           precision_recall)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="anything ganzoo.load takes (an unconditional model)")
    p.add_argument("--data", required=True)
    p.add_argument("--evaluator", required=True, choices=evaluator_names())
    p.add_argument("--psi", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7])
    args = p.parse_args(argv)
    classifier, ref, g = load_evaluator(args.evaluator), load_reference(args.data), ganzoo.load(args.model)
    if g.num_classes is not None:
        p.error(f"{args.model} is conditional; this probe is for unconditional models")
    half = ref.heldout.shape[0] // 2
    real, real_pred, _ = embed(classifier, ref.heldout[:half])
    z = g.latents(half, seed=0)
    for psi in args.psi:
        fake, fake_pred, _ = embed(classifier, g.generate(z * psi))
        precision, recall = precision_recall(real, fake)
        line = f"psi {psi}: FID {frechet_distance(fake, real):.2f}, precision {precision:.3f}, recall {recall:.3f}"
        if psi == 1.0:
            gen = torch.Generator().manual_seed(0)
            idx = [(fake_pred == c).nonzero().flatten() for c in range(classifier.head.out_features)]
            want = torch.bincount(real_pred, minlength=len(idx))
            resampled = torch.cat([i[torch.randint(len(i), (int(k),), generator=gen)] for i, k in zip(idx, want) if len(i)])
            line += f"; resampled to the held-out class mix: FID {frechet_distance(fake[resampled], real):.2f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
