#!/usr/bin/env python
"""Load test of the demo: concurrent gradio_client clients over every endpoint, with repeated seeds.

    python benchmarks/load_test.py [--clients 16] [--requests 30] [--seeds 4] [--url http://127.0.0.1:7860/]

Each client sends --requests requests, cycling through /sample, /conditional, /interpolate,
/arithmetic and /about, with seeds from a pool of --seeds, so that many clients ask for the same
picture, some at the same time (the case that once lost downloads); a large pool (--seeds 100000)
makes every request new, which fills the picture cache. A warm-up pass of the same mix comes
first. Prints errors (the run exits 1 on any), latency per endpoint, the server's resident memory
after the warm-up and at the end, and the size of its picture cache against its caps.

Without --url it starts app.py on a free 127.0.0.1 port with its own GRADIO_TEMP_DIR and stops it
afterwards (memory and cache are only known then). Traffic goes to loopback only.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENDPOINTS = ("/sample", "/conditional", "/interpolate", "/arithmetic", "/about")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": tmp, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the demo exited with code {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}/"
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the demo did not start within 120 s")


def request(k: int, seed: int) -> tuple[str, tuple]:
    """The k-th request of a client: (api_name, arguments), every endpoint in turn."""
    api = ENDPOINTS[k % len(ENDPOINTS)]
    return api, {
        "/sample": ("dcgan-mnist", 64, seed),
        "/conditional": ("cgan-fashion", ["Sneaker", "Bag"], 8, seed),
        "/interpolate": ("cgan-mnist", seed, seed + 1, 16, "slerp", "7"),
        "/arithmetic": ("dcgan-fashion", f"{seed}, {seed + 1}, {seed + 2}", "3, 4, 5", "6, 7, 8", None),
        "/about": ("cgan-mnist",),
    }[api]


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)


def main(argv=None) -> int:
    from gradio_client import Client

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=30, help="requests per client (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="warm-up requests per client (default 5)")
    p.add_argument("--seeds", type=int, default=4, help="seeds in the pool the clients share (default 4)")
    p.add_argument("--url")
    p.add_argument("--timeout", type=float, default=900, help="stop sending after this many seconds")
    args = p.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="ganzoo-load-")
    proc, url = (None, args.url) if args.url else start_server(tmp)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    try:
        clients = [Client(url, verbose=False) for _ in range(args.clients)]
        stop_at = time.time() + args.timeout

        def worker(i: int, n: int, record: bool) -> None:
            for k in range(n):
                if time.time() > stop_at:
                    return
                api, call = request(i + k, (i * n + k) % args.seeds)
                t0 = time.perf_counter()
                try:
                    clients[i].predict(*call, api_name=api)
                    if record:
                        with lock:
                            latencies[api].append(time.perf_counter() - t0)
                except Exception as e:  # counted and reported, the run goes on
                    with lock:
                        errors.append(f"{api}: {type(e).__name__}: {e}")

        def run(n: int, record: bool) -> float:
            t0 = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(i, n, record)) for i in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.perf_counter() - t0

        load_before = os.getloadavg()[0]
        run(args.warmup, record=False)
        mem_warm = rss_mib(proc.pid) if proc else float("nan")
        trace: list[tuple[int, float]] = []          # (requests done, server RSS), once a second
        finished = threading.Event()

        def watch() -> None:
            while proc and not finished.wait(1.0):
                trace.append((sum(map(len, latencies.values())) + len(errors), rss_mib(proc.pid)))

        watcher = threading.Thread(target=watch)
        watcher.start()
        wall = run(args.requests, record=True)
        finished.set()
        watcher.join()
        mem_end = rss_mib(proc.pid) if proc else float("nan")
        load_after = os.getloadavg()[0]
        cache = folder_size(Path(tmp) / "ganzoo-demo")
        gradio_dir = folder_size(Path(tmp))
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)

    from ganzoo import demo
    done = sum(map(len, latencies.values()))
    print(f"{args.clients} clients x {args.requests} requests over {', '.join(ENDPOINTS)}, seeds from a pool of "
          f"{args.seeds} (after {args.warmup} warm-up requests each); {os.cpu_count()} cores of {cpu_model()}")
    print(f"machine load average (1 min), all processes: {load_before:.1f} before, {load_after:.1f} after "
          "(the clients run on the same cores as the server)")
    print(f"errors {len(errors)} of {done + len(errors)}; throughput {done / wall:.1f} req/s in {wall:.0f} s")
    for api in ENDPOINTS:
        lat = sorted(1000 * x for x in latencies[api])
        if lat:
            p95 = statistics.quantiles(lat, n=20, method="inclusive")[18] if len(lat) >= 2 else lat[0]
            print(f"  {api:13s} {len(lat):4d} requests, latency ms: p50 {statistics.median(lat):.0f}, "
                  f"p95 {p95:.0f}, max {lat[-1]:.0f}")
    total = args.clients * args.requests
    quarters = [next((m for d, m in trace if d >= q * total / 4), mem_end) for q in (1, 2, 3)]
    print(f"server RSS MiB: after warm-up {mem_warm:.0f}; after 1/4, 1/2, 3/4 of the requests "
          f"{', '.join(f'{m:.0f}' for m in quarters)}; at the end {mem_end:.0f} ({mem_end - mem_warm:+.0f})")
    print(f"picture cache: {cache[0]} files, {cache[1] / 2**20:.1f} MiB (caps {demo.CACHE_FILES} files, "
          f"{demo.CACHE_BYTES / 2**20:.0f} MiB); all of GRADIO_TEMP_DIR: {gradio_dir[0]} files, "
          f"{gradio_dir[1] / 2**20:.1f} MiB")
    for e in errors[:5]:
        print("  error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
