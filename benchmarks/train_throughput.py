#!/usr/bin/env python
"""Training throughput: ganzoo's trainer against a reference loop written the way
pytorch/examples dcgan/main.py trains, in one process, on the same device.

Reference: the same DCGAN (ganzoo's dcgan-mnist architecture), a DataLoader over CPU tensors
(shuffle, batch 128), Sigmoid + BCELoss, Adam 2e-4 betas (0.5, 0.999), fp32, each batch
copied to the device, the fake batch reused for the G step.

    python benchmarks/train_throughput.py --data ../shared/data/mnist-10k [--steps 300] [--json out.json]

Prints images/s for the reference and for each trainer setting, and the ratio.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from ganzoo.data import load_dataset  # noqa: E402
from ganzoo.models import build_discriminator, build_generator, make_config  # noqa: E402
from training.config import load_config  # noqa: E402
from training.export import device_name  # noqa: E402
from training.train import Trainer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def reference_images_per_s(data: str, device: torch.device, steps: int, warmup: int) -> float:
    cfg = load_config(REPO / "training/configs/dcgan-mnist.yaml")
    mcfg = make_config("dcgan", cfg.model)
    ds = load_dataset(data)
    x_all = ds.images.float() / 255
    loader = DataLoader(TensorDataset(x_all), batch_size=128, shuffle=True, drop_last=True)
    torch.manual_seed(0)
    netG, netD = build_generator("dcgan", mcfg).to(device), build_discriminator("dcgan", mcfg).to(device)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, t0 = 0, None
    while done < steps + warmup:
        for (real,) in loader:
            if done == warmup:
                sync(device)
                t0 = time.perf_counter()
            if done == steps + warmup:
                break
            real = real.to(device)
            b = real.size(0)
            netD.zero_grad()
            label = torch.full((b,), 1.0, device=device)
            errD_real = criterion(torch.sigmoid(netD(real)), label)
            errD_real.backward()
            noise = torch.randn(b, mcfg.latent_dim, device=device)
            fake = netG(noise)
            label.fill_(0.0)
            errD_fake = criterion(torch.sigmoid(netD(fake.detach())), label)
            errD_fake.backward()
            optD.step()
            netG.zero_grad()
            label.fill_(1.0)
            errG = criterion(torch.sigmoid(netD(fake)), label)
            errG.backward()
            optG.step()
            _ = errD_real.item() + errD_fake.item() + errG.item()   # main.py prints these every step
            done += 1
    sync(device)
    return steps * 128 / (time.perf_counter() - t0)


def trainer_images_per_s(data: str, steps: int, warmup: int, overrides: list[str]) -> float:
    """The trainer's images/s under ``overrides``; the first one 'recipe' keeps the recipe's R1 and
    instance noise, otherwise both are off, so the trainer does the reference's work."""
    same_work = [] if overrides[:1] == ["recipe"] else ["instance_noise=0.0", "r1_gamma=0.0"]
    cfg = load_config(REPO / "training/configs/dcgan-mnist.yaml",
                      [f"data={data}", "out=/tmp/ganzoo-bench", *same_work, *overrides[overrides[:1] == ["recipe"]:]])
    tr = Trainer(cfg)
    for _ in range(warmup):
        tr.train_step()
    sync(tr.device)
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.train_step()
    sync(tr.device)
    return steps * cfg.batch_size * cfg.d_steps / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/mnist-10k")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--settings", nargs="*", default=None,
                   help="trainer settings to time, each a comma-separated override list")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = device.type == "cuda"
    settings = args.settings if args.settings is not None else (
        ["", "cuda_graph=false", "mixed_precision=bf16", "mixed_precision=bf16,batch_size=1024",
         "recipe", "recipe,mixed_precision=bf16,batch_size=1024"] if on_gpu else ["", "recipe"])
    name = device_name(device)
    print(f"device: {name}; torch {torch.__version__}; {args.steps} timed steps after {args.warmup} warm-up", flush=True)
    print(f"{'setting':<80} {'images/s':>10} {'x ref':>7}", flush=True)
    ref = reference_images_per_s(args.data, device, args.steps, args.warmup)
    rows = [("reference (pytorch/examples style, batch 128, fp32)", ref)]
    print(f"{rows[0][0]:<80} {ref:>10.0f} {1:>7.2f}", flush=True)
    for s in settings:
        label = f"ganzoo trainer {s or 'defaults (batch 128, fp32)'}"
        try:
            ips = trainer_images_per_s(args.data, args.steps, args.warmup, [o for o in s.split(",") if o])
        except Exception as e:  # a setting this torch build cannot run is reported, not fatal
            print(f"{label:<80} failed: {type(e).__name__}: {str(e)[:120]}", flush=True)
            continue
        rows.append((label, ips))
        print(f"{label:<80} {ips:>10.0f} {ips / ref:>7.2f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": name, "torch": torch.__version__,
                                               "rows": [{"setting": l, "images_per_s": v, "ratio": v / ref}
                                                        for l, v in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
