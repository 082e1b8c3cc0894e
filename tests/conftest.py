"""Shared fixtures: tiny model configs, a small synthetic IDX data set, a local Hub mirror."""
from __future__ import annotations

import gzip
import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import ganzoo

REPO = Path(__file__).resolve().parents[1]

# The smallest configs of each family that still exercise every layer type.
TINY = {
    "vanilla": {"latent_dim": 8, "hidden_dim": 8},
    "dcgan": {"latent_dim": 8, "ngf": 8, "ndf": 8},
    "cgan": {"latent_dim": 8, "ngf": 8, "ndf": 8, "embed_dim": 4, "feature_dim": 16, "num_classes": 10},
}


def write_idx(path: Path, array: np.ndarray, *, gz: bool = True) -> Path:
    """An unsigned-byte IDX file (MNIST's format)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)
    return path


def make_digits(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic 28x28 'digits': class c is a bar at a class-specific angle, with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    yy, xx = np.mgrid[0:28, 0:28] - 13.5
    images = np.zeros((n, 28, 28))
    for i, c in enumerate(labels):
        angle = np.pi * c / 10 + rng.normal(0, 0.05)
        dist = np.abs(xx * np.sin(angle) - yy * np.cos(angle))
        images[i] = np.clip(1.5 - dist, 0, 1) * (np.hypot(xx, yy) < 11)
    images = np.clip(images * 255 + rng.normal(0, 8, images.shape), 0, 255)
    return images.astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    """A folder shaped like ../shared/data/mnist-10k holding 256 synthetic digits."""
    d = tmp_path_factory.mktemp("digits")
    images, labels = make_digits()
    write_idx(d / "train-images-idx3-ubyte.gz", images)
    write_idx(d / "train-labels-idx1-ubyte.gz", labels)
    return d


def tiny_generator(family: str, seed: int = 0, **overrides):
    import torch
    torch.manual_seed(seed)
    return ganzoo.build_generator(family, ganzoo.make_config(family, {**TINY[family], **overrides})).eval()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def git_repo(folder: Path, branches: tuple[str, ...] = ()) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "publish"],
                *(["branch", b] for b in branches)):
        subprocess.run(["git", *cmd], cwd=folder, check=True, env=env)


@pytest.fixture(scope="session")
def hub_mirror(tmp_path_factory):
    """A local Hub (olah) on 127.0.0.1 serving every model card folder as ganzoo/NAME, with a
    branch 'v1'. Yields its endpoint URL."""
    if shutil.which("olah-cli") is None:
        pytest.skip("olah is not installed (pip install -e '.[test]')")
    root = tmp_path_factory.mktemp("olah")
    for name in ganzoo.list_models():
        dest = root / "mirrors" / "models" / "ganzoo" / name
        shutil.copytree(ganzoo.get_entry(name).folder, dest)
        git_repo(dest, branches=("v1",))
    (root / "repos").mkdir()
    port = free_port()
    (root / "olah.toml").write_text(textwrap.dedent(f"""
        [basic]
        host = "127.0.0.1"
        port = {port}
        repos-path = "{root / 'repos'}"
        hf-netloc = "127.0.0.1:9"
        hf-lfs-netloc = "127.0.0.1:9"
        mirror-netloc = "127.0.0.1:{port}"
        mirror-lfs-netloc = "127.0.0.1:{port}"
        mirrors-path = ["{root / 'mirrors'}"]
        [accessibility]
        offline = true
    """))
    log = open(root / "olah.log", "w")
    # cwd: olah writes its own ./logs folder, which belongs in the test's tmp dir, not the checkout
    proc = subprocess.Popen(["olah-cli", "-c", str(root / "olah.toml")], stdout=log, stderr=subprocess.STDOUT,
                            cwd=root)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120,
               args: list[str] = ()) -> subprocess.CompletedProcess:
    """Run code (with sys.argv[1:] = args) in a fresh interpreter (huggingface_hub reads HF_* at import time)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)
