#!/usr/bin/env python
"""Cold start and sampling speed of every zoo model, on the CPU by default.

    python benchmarks/sample_speed.py [--device cpu] [--repeats 50]

Cold times come from fresh interpreters (median of 5): `import ganzoo`, then `ganzoo.load`
(sha256 check, config, safetensors). Sampling: median ms per call of g.sample(64).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLD = """
import time, json
t0 = time.perf_counter()
import ganzoo
t1 = time.perf_counter()
g = ganzoo.load({name!r})
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1}}))
"""


def cold(name: str, runs: int = 5) -> dict[str, float]:
    results = [json.loads(subprocess.run([sys.executable, "-c", COLD.format(name=name)], capture_output=True,
                                         text=True, check=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""}).stdout)
               for _ in range(runs)]
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def warm_ms(name: str, device: str, repeats: int) -> float:
    import torch
    import ganzoo
    g = ganzoo.load(name, device=device)
    for i in range(5):
        g.sample(64, seed=i)
    times = []
    for i in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        g.sample(64, seed=i)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main(argv=None) -> int:
    import torch
    import ganzoo
    from training.export import device_name
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=50)
    args = p.parse_args(argv)
    import os
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {device_name(torch.device(args.device))}")
    print(f"{'model':<16} {'import (s)':>10} {'load (s)':>9} {'ms / 64 samples':>16}")
    for name in ganzoo.list_models():
        c = cold(name)
        print(f"{name:<16} {c['import_s']:>10.2f} {c['load_s']:>9.3f} {warm_ms(name, args.device, args.repeats):>16.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
