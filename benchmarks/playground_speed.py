#!/usr/bin/env python
"""Speed of the playground: training steps per second and the tab's frames per second.

    python -m benchmarks.playground_speed [--steps 5000] [--seconds 10] [--both-threads]

- steps/s: ``ToyGAN.train(steps)`` for the collapse preset and its minibatch-std cure (seed 0), wall
  and CPU time (the CPU time says how much of the wall time the other processes took);
- frames/s: the tab's Train streams run in-process for ``--seconds`` each (2-D at the default 20
  iterations per frame, minimax vs non-saturating side by side, digits when MNIST is found), with
  the time each frame took to draw; what a browser receives on top is one inline PNG per image;
- ``--both-threads``: 500 iterations on the caller's torch threads instead of one, to show why the
  games run on one.
The load average before and after is printed: on 2 shared cores it moves every figure.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def train_speed(name: str, steps: int, threads: int | None = 1) -> tuple[float, float, int]:
    """(wall s, CPU s, modes covered) of ``steps`` iterations of the preset, seed 0."""
    from ganzoo import playground as pg

    gan = pg.ToyGAN(**pg.PRESETS[name], seed=0)
    gan.threads = threads
    gan.train(2)                                     # optimizer state and first-call costs out of the timing
    wall, cpu = time.perf_counter(), time.process_time()
    gan.train(steps)
    return time.perf_counter() - wall, time.process_time() - cpu, gan.modes_covered()


def stream_speed(train, values: list, speed: int, seconds: float) -> tuple[int, float, int]:
    """(frames, seconds, iterations) of a tab's Train stream run for about ``seconds``."""
    from ganzoo import demo_playground as dp

    slot = dp.Slot()
    start = time.perf_counter()
    frames = 0
    for _ in train(slot, speed, *values):
        frames += 1
        if time.perf_counter() - start >= seconds:
            dp.pause(slot)
    return frames, time.perf_counter() - start, slot.run.game.step


def widget_values(fields: tuple[str, ...], **values) -> list:
    return [values[f] for f in fields]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--both-threads", action="store_true")
    args = p.parse_args(argv)

    import torch

    from ganzoo import demo_playground as dp

    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}; load average {load()}")
    for name in ("ring: mode collapse", "ring: collapse cured by minibatch std"):
        wall, cpu, modes = train_speed(name, args.steps)
        print(f"{name}: {args.steps} steps in {wall:.1f} s wall ({args.steps / wall:.0f} steps/s), "
              f"{cpu:.1f} s CPU; modes covered {modes}/8")
    if args.both_threads:
        for threads in (1, None):
            wall, cpu, _ = train_speed("ring: mode collapse", 500, threads)
            print(f"500 steps on {threads or torch.get_num_threads()} thread(s): {wall:.2f} s wall, {cpu:.2f} s CPU")

    def toy(preset: str) -> list:          # the tab's widgets after choosing the preset, seed 0
        values = dict(zip([f for f in dp.TOY_FIELDS if f != "seed"], dp.apply_preset(preset)), seed=0)
        return widget_values(dp.TOY_FIELDS, **values)

    collapse, saturation = toy("ring: mode collapse"), toy("ring: saturation (D wins early, k = 5)")
    slot = dp.Slot()
    dp.toy_reset(slot, *collapse)
    draw = []
    for _ in range(10):
        t = time.perf_counter()
        dp._toy_frame(slot.run)
        draw.append(time.perf_counter() - t)
    print(f"2-D frame drawn in {1000 * sorted(draw)[5]:.0f} ms (median of 10)")
    for label, train, values in (("2-D, collapse preset", dp.toy_train, collapse),
                                 ("minimax vs non-saturating, saturation preset", dp.compare_train, saturation)):
        frames, secs, steps = stream_speed(train, values, 20, args.seconds)
        print(f"{label}, 20 iterations per frame: {frames / secs:.1f} frames/s, {steps / secs:.0f} iterations/s "
              f"over {secs:.1f} s")
    ok, where = dp.digits_available()
    if ok:
        digits = widget_values(dp.DIGIT_FIELDS, family="dcgan", seed=0, loss="nonsaturating", d_steps=1, lr_d=2e-4,
                               lr_g=2e-4, instance_noise=0.0, label_smoothing=0.0)
        frames, secs, steps = stream_speed(dp.digits_train, digits, 200, max(args.seconds, 5))
        print(f"digits (dcgan): a grid every {secs / frames:.2f} s, {steps / secs:.1f} iterations/s over {secs:.1f} s")
    else:
        print(f"digits: skipped ({where})")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
