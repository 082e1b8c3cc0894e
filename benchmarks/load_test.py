#!/usr/bin/env python
"""Load test of the demo: concurrent gradio_client clients asking for 64-image dcgan-mnist grids.

    python benchmarks/load_test.py [--clients 16] [--requests 240] [--url http://127.0.0.1:7860/]

Without --url it starts app.py on a free 127.0.0.1 port and stops it afterwards. Prints
p50/p95/max latency, errors, throughput and the server's resident memory before and after.
Traffic goes to loopback only; the run is bounded by --requests and --timeout.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": tmp, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}/"
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the demo did not start within 90 s")


def main(argv=None) -> int:
    from gradio_client import Client

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=240, help="total requests (split over the clients)")
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--url")
    p.add_argument("--timeout", type=float, default=600, help="stop sending after this many seconds")
    args = p.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="ganzoo-load-")
    proc, url = (None, args.url) if args.url else start_server(tmp)
    try:
        clients = [Client(url, verbose=False) for _ in range(args.clients)]
        clients[0].predict("dcgan-mnist", args.images, 0, api_name="/sample")        # warm up
        mem_before = rss_mib(proc.pid) if proc else float("nan")
        cpu_before = cpu_seconds(proc.pid) if proc else float("nan")
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        per_client = -(-args.requests // args.clients)
        stop_at = time.time() + args.timeout

        def worker(i: int) -> None:
            for k in range(per_client):
                if time.time() > stop_at:
                    return
                t0 = time.perf_counter()
                try:
                    clients[i].predict("dcgan-mnist", args.images, i * 1000 + k, api_name="/sample")
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                except Exception as e:  # counted and reported, the run goes on
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}")

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        mem_after = rss_mib(proc.pid) if proc else float("nan")
        cpu_used = (cpu_seconds(proc.pid) - cpu_before) if proc else float("nan")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)

    lat = sorted(1000 * x for x in latencies)
    q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [float("nan")] * 19
    print(f"{args.clients} clients, {len(lat) + len(errors)} requests of {args.images} dcgan-mnist images, {os.cpu_count()} cores")
    print(f"latency ms: p50 {statistics.median(lat):.0f}, p95 {q[18]:.0f}, max {lat[-1]:.0f}; "
          f"throughput {len(lat) / wall:.1f} req/s; errors {len(errors)}")
    print(f"server RSS MiB: before {mem_before:.0f}, after {mem_after:.0f}; "
          f"server CPU {1000 * cpu_used / max(len(lat), 1):.0f} ms per request (the clients share the same 2 cores)")
    for e in errors[:5]:
        print("  error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
