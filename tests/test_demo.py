"""The Gradio demo: its functions in-process (fast), and (slow) every endpoint through gradio_client
against a real server process, concurrent clients, and a real Chromium driven by playwright."""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

gr = pytest.importorskip("gradio")
import ganzoo  # noqa: E402
from ganzoo import demo  # noqa: E402
from tests.conftest import REPO, free_port, wait_for_port  # noqa: E402


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


@pytest.fixture
def cache(tmp_path):
    return demo.PictureCache(tmp_path / "cache")


# ---- in-process ------------------------------------------------------------------------------
def test_sample_grid_size_determinism_and_reuse(cache):
    a = demo.sample("dcgan-mnist", 64, 3, cache=cache)
    assert Image.open(a).size == (3 * (8 * 30 + 2),) * 2
    assert demo.sample("dcgan-mnist", 64, 3, cache=cache) == a            # the same file, not a copy
    assert demo.sample("dcgan-mnist", 64.0, 3.0, cache=cache) == a        # gr.Number sends floats
    b = demo.sample("dcgan-mnist", 64, 4, cache=cache)
    assert b != a and not np.array_equal(pixels(a), pixels(b))
    assert pixels(a).std() > 30
    assert cache.size()[0] == 2


def test_conditional_grid_has_a_row_per_class(cache):
    img = demo.conditional("cgan-mnist", ["3", "7"], 5, 0, cache=cache)
    assert Image.open(img).size == (3 * (5 * 30 + 2), 3 * (2 * 30 + 2))
    assert Image.open(demo.conditional("cgan-mnist", [], 2, 0, cache=cache)).size[1] == 3 * (10 * 30 + 2)   # all
    shoes = demo.conditional("cgan-fashion", ["Sneaker", "Bag"], 3, 0, cache=cache)                          # by name
    assert Image.open(shoes).size[1] == 3 * (2 * 30 + 2)
    assert demo.conditional("cgan-fashion", ["7", "8"], 3, 0, cache=cache) == shoes   # the library's one label parser


def test_conditional_is_bounded_by_the_readmes_256_images(cache):
    biggest = demo.conditional("cgan-mnist", ["1"] * demo.MAX_ROWS, demo.MAX_PER_CLASS, 0, cache=cache)
    w, h = Image.open(biggest).size
    assert (w // (3 * 30)) * (h // (3 * 30)) == demo.MAX_IMAGES == 256
    t0 = time.perf_counter()
    with pytest.raises(gr.Error, match=r"at most 16 classes \(rows\) per grid, got 6250"):
        demo.conditional("cgan-mnist", ["3"] * 6250, 16, 0, cache=cache)
    assert time.perf_counter() - t0 < 1      # refused before anything is drawn


def test_interpolation_gif_is_large_and_frames_are_a_readable_grid(cache):
    gif, frames = demo.interpolate("cgan-mnist", 0, 1, 16, "slerp", "4", cache=cache)
    with Image.open(gif) as im:
        assert im.n_frames == 30 and im.size == (28 * demo.GIF_SCALE,) * 2 == (280, 280)   # 16 there, 14 back
    assert Image.open(frames).size == (3 * (8 * 30 + 2), 3 * (2 * 30 + 2))     # 8 frames a row, 3x
    assert demo.interpolate("cgan-mnist", 0, 1, 16, "slerp", "4", cache=cache) == (gif, frames)   # reused
    _, short = demo.interpolate("dcgan-mnist", 0, 1, 5, "lerp", None, cache=cache)
    assert Image.open(short).size == (3 * (5 * 30 + 2), 3 * 32)


def test_arithmetic_latents_are_means_put_back_on_the_latent_sphere():
    g = demo.get_model("dcgan-mnist")
    z, combo = demo.arithmetic_latents(g, [[0, 1, 2], [3], [4, 5]])
    assert z.shape == (6, 64) and combo.shape == (4, 64)
    assert torch.allclose(combo.norm(dim=1), torch.full((4,), 8.0))          # sqrt(latent_dim)
    means = torch.stack([z[:3].mean(0), z[3], z[4:].mean(0)])
    want = torch.cat([means, (means[0] - means[1] + means[2])[None]])
    assert torch.allclose(combo, want / want.norm(dim=1, keepdim=True) * 8, atol=1e-5)


def test_arithmetic_figure_shows_every_operand(cache):
    path = demo.arithmetic("dcgan-mnist", "0, 1, 2", "3 4 5", 6, cache=cache)   # commas, spaces, one int
    cell = 28 * demo.SCALE
    with Image.open(path) as im:
        assert im.height == 4 * (cell + 12)
        assert im.width == 130 + 3 * (cell + 6) + 34 + cell + 6
        fig = np.asarray(im)
    # the result sits under the means, and every tile holds a digit (bright strokes on black)
    means_x = 130 + 3 * (cell + 6) + 34
    for row in range(4):
        tile = fig[6 + row * (cell + 12):6 + row * (cell + 12) + cell, means_x:means_x + cell]
        assert tile.mean() > 10 and tile.max() > 200 and (tile < 30).mean() > 0.5


@pytest.mark.parametrize("model", ganzoo.list_models())
def test_arithmetic_defaults_are_clean_for_every_model_and_class(model):
    """The judge (the evaluation classifier) must recognise the result as a digit or garment as
    confidently as it does real images (0.89-0.95 on average), for every class: G(a - b + c)
    of single seeds without rescaling gives 0.35-0.66 for half of them (white speckle on cgan-fashion)."""
    from ganzoo import metrics
    g = demo.get_model(model)
    judge = metrics.load_evaluator(ganzoo.registry.EVALUATORS[ganzoo.get_entry(model).dataset])
    operands = [demo.parse_seeds(s, n) for s, n in zip(demo.ARITHMETIC_DEFAULTS, "abc")]
    _, combo = demo.arithmetic_latents(g, operands)
    labels = range(g.num_classes) if g.num_classes else [None]
    results = torch.cat([g.generate(combo[3:], None if y is None else torch.tensor([y])) for y in labels])
    confidence = metrics.embed(judge, results).confidence
    assert confidence.min() > 0.7, confidence


def test_about_names_the_weights_and_serves_only_the_cards_pictures():
    text = demo.about("cgan-mnist")
    assert f"sha256 `{ganzoo.get_entry('cgan-mnist').sha256[:8]}" in text and "hf-hub:ganzoo/cgan-mnist@main" in text
    assert "## Evaluation" in text and "![" not in text
    samples, loss = demo.card_images("cgan-mnist")
    assert Path(samples).name == "samples.png" and Image.open(loss).size[0] > 500
    allowed = demo.all_card_images()
    assert len(allowed) == 2 * len(ganzoo.list_models())
    assert all(Path(p).parent.parent == ganzoo.registry.BUNDLED_DIR and p.endswith(".png") for p in allowed)


def test_the_class_tab_follows_the_model_picker():
    note, controls, classes = demo.conditional_controls("dcgan-mnist")
    assert note.visible and "dcgan-mnist is unconditional" in note.value and "Model menu" in note.value
    assert controls.visible is False
    note, controls, classes = demo.conditional_controls("cgan-fashion")
    assert note.visible is False and controls.visible and classes.choices[7] == ("Sneaker", "Sneaker")
    assert demo.class_choices("cgan-mnist").value == "0" and demo.class_choices("dcgan-mnist").visible is False


def test_the_page_has_one_model_picker_and_every_tab():
    page = demo.build_demo()
    comps = page.config["components"]
    labels = [c["props"].get("label") for c in comps if c["type"] == "dropdown"]
    assert labels.count("Model") == 1 and not any("model" in (x or "").lower() for x in labels if x != "Model")
    by_id = {c["id"]: c for c in comps}
    tab_bar = next(node for node in page.config["layout"]["children"] if by_id[node["id"]]["type"] == "tabs")
    tabs = [by_id[node["id"]]["props"]["label"] for node in tab_bar["children"]]     # the page's own, not nested ones
    want = ["Sample", "Class-conditioning", "Latent interpolation", "Latent arithmetic", "About the model"]
    want[4:4] = [title for title, _ in demo.optional_tabs()]
    assert tabs == want
    assert not any(c["type"] == "button" and c["props"].get("value") == "Refresh" for c in comps)
    api = {d.get("api_name") for d in page.config["dependencies"] if d.get("api_visibility", "public") == "public"}
    assert {"sample", "conditional", "interpolate", "arithmetic", "about"} <= api


@pytest.mark.parametrize("call,message", [
    (lambda: demo.sample("dcgan-mnist", 0, 1), "number of images must be in 1..256, got 0"),
    (lambda: demo.sample("dcgan-mnist", 100_000, 1), "number of images must be in 1..256, got 100000"),
    (lambda: demo.sample("dcgan-mnist", 2.5, 1), "number of images must be a whole number in 1..256, got 2.5"),
    (lambda: demo.sample("dcgan-mnist", 4, 1.5), "seed must be a whole number in 0..2147483647, got 1.5"),
    (lambda: demo.sample("dcgan-mnist", 4, -3), "seed must be in 0..2147483647, got -3"),
    (lambda: demo.sample("dcgan-mnist", 4, float("inf")), "seed must be a whole number in 0..2147483647, got inf"),
    (lambda: demo.sample("dcgan-mnist", None, 1), "number of images must be a whole number in 1..256, got None"),
    (lambda: demo.sample("gpt-5", 4, 1), "unknown model 'gpt-5'; choose one of cgan-fashion, cgan-mnist, dcgan-fashion"),
    (lambda: demo.conditional("dcgan-mnist", [], 2, 0),
     "dcgan-mnist is unconditional; pick a conditional model in the Model menu: cgan-fashion, cgan-mnist"),
    (lambda: demo.conditional("cgan-mnist", ["11"], 2, 0), "label 11 is out of range for cgan-mnist; valid: 0..9"),
    (lambda: demo.conditional("cgan-fashion", ["Sneakers"], 2, 0), "unknown label 'Sneakers' for cgan-fashion"),
    (lambda: demo.conditional("cgan-mnist", ["3"], 17, 0), "images per class must be in 1..16, got 17"),
    (lambda: demo.interpolate("dcgan-mnist", 0, 1, 500, "slerp"), "steps must be in 2..64, got 500"),
    (lambda: demo.interpolate("dcgan-mnist", 0, 1, 4, "cubic"), "unknown method 'cubic'; valid: slerp, lerp"),
    (lambda: demo.interpolate("dcgan-mnist", 0, 1, 4, "slerp", "3"), "model dcgan-mnist is unconditional and takes no labels"),
    (lambda: demo.arithmetic("cgan-mnist", "0", "1", "2", None), "cgan-mnist is conditional: pick a class (0, 1, 2"),
    (lambda: demo.arithmetic("dcgan-mnist", "0, x", "1", "2"), "operand a: 'x' is not a seed"),
    (lambda: demo.arithmetic("dcgan-mnist", "0", "", "2"), "operand b: give 1 to 8 seeds separated by commas, got ''"),
    (lambda: demo.arithmetic("dcgan-mnist", "0", "1", ",".join(map(str, range(9)))), "operand c: give 1 to 8 seeds"),
    (lambda: demo.arithmetic("dcgan-mnist", "0", "1", "-2"), "operand c: seed must be in 0..2147483647, got -2"),
])
def test_bad_input_is_a_clear_error_never_a_silent_change(call, message):
    with pytest.raises(gr.Error, match=message.replace("(", "\\(").replace(")", "\\)").replace(".", "\\.")):
        call()


def test_the_demo_has_no_label_parser_of_its_own():
    assert not hasattr(demo, "class_index") and not hasattr(demo, "class_names")
    g = demo.get_model("cgan-fashion")
    assert demo.label_of(g, "Sneaker") == 7 == demo.label_of(g, 7) == demo.label_of(g, "7")


def test_app_contains_no_model_code():
    source = (REPO / "ganzoo" / "demo.py").read_text() + (REPO / "app.py").read_text()
    for forbidden in ("nn.Module", "torch.nn", "Conv", "safetensors", "ganzoo.models"):
        assert forbidden not in source


# ---- the picture cache ------------------------------------------------------------------------
def test_cache_writes_each_file_once_even_under_concurrent_requests(tmp_path):
    cache = demo.PictureCache(tmp_path)
    writes = []

    def write(path):
        writes.append(path)
        time.sleep(0.05)                       # a slow writer, so that requests overlap
        path.write_bytes(b"x" * 1000)

    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: cache.get(["same"], ".bin", write), range(16)))
    assert len(set(paths)) == 1 and Path(paths[0]).read_bytes() == b"x" * 1000
    inode = os.stat(paths[0]).st_ino
    cache.get(["same"], ".bin", lambda p: p.write_bytes(b"rewritten"))
    assert os.stat(paths[0]).st_ino == inode and Path(paths[0]).read_bytes() == b"x" * 1000   # never rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == [Path(paths[0]).name]                 # no temp files left


def test_cache_is_bounded_and_keeps_the_recently_used(tmp_path):
    cache = demo.PictureCache(tmp_path, max_files=3, max_bytes=10_000)
    paths = []
    for i in range(3):
        paths.append(cache.get([i], ".bin", lambda p: p.write_bytes(b"x" * 100)))
        time.sleep(0.01)
    cache.get([0], ".bin", lambda p: None)              # used again: now the most recent
    time.sleep(0.01)
    cache.get([3], ".bin", lambda p: p.write_bytes(b"x" * 100))
    assert cache.size() == (3, 300) and os.path.exists(paths[0]) and not os.path.exists(paths[1])
    cache.get([4], ".bin", lambda p: p.write_bytes(b"x" * 9_950))   # over the byte cap: the older ones go
    assert cache.size() == (1, 9_950)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    cache = demo.PictureCache(tmp_path)

    def broken(path):
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cache.get(["k"], ".png", broken)
    assert list(tmp_path.iterdir()) == []


# ---- where it listens, and what it says when it cannot ---------------------------------------------
def test_server_address_honours_gradio_variables_and_flags_override(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert demo.server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8080")
    assert demo.server_address() == ("0.0.0.0", 8080)
    assert demo.server_address("127.0.0.1", 9000) == ("127.0.0.1", 9000)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "eighty")
    with pytest.raises(ValueError, match="GRADIO_SERVER_PORT must be a port number in 1..65535, got 'eighty'"):
        demo.server_address()
    with pytest.raises(ValueError, match="port must be in 1..65535, got 99999"):
        demo.server_address(port=99999)


def test_a_busy_port_is_one_line_that_says_use_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        message = f"port {port} on 127.0.0.1 is in use .*with --port, e.g. --port {port + 1}"
        with pytest.raises(demo.PortInUseError, match=message):
            demo.check_can_listen("127.0.0.1", port)
    with pytest.raises(demo.PortInUseError, match="cannot listen on host 'no-such-host.invalid'"):
        demo.check_can_listen("no-such-host.invalid", 7860)


@pytest.mark.parametrize("script", ["app.py", "space/app.py"])
def test_without_gradio_the_app_says_how_to_install_it(script):
    code = ("import runpy, sys; sys.modules['gradio'] = None; sys.argv = [sys.argv[1]]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / script)], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.returncode == 2
    assert out.stderr == "app.py: error: the demo needs gradio: pip install 'ganzoo-models[demo]'\n"


# ---- end to end: app.py in a subprocess, called with gradio_client ---------------------------
def start_app(tmp: Path, *args: str, env: dict | None = None, script: Path = REPO / "app.py", host="127.0.0.1",
              port: int | None = None):
    port = port or free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp), "HF_HUB_OFFLINE": "1",
           **(env or {})}
    log = open(tmp / "server.log", "w")
    argv = [sys.executable, str(script), *(args or ("--port", str(port)))]
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    return proc, log, port


def wait_for(host: str, port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def stop(proc: subprocess.Popen, log) -> None:
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradio")
    proc, log, port = start_app(tmp)
    try:
        wait_for_port(port, proc, timeout=90)
        yield f"http://127.0.0.1:{port}/", proc, tmp
    finally:
        stop(proc, log)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client
    return Client(server[0], verbose=False)


@pytest.mark.slow
def test_every_endpoint_through_gradio_client(client):
    grid = client.predict("dcgan-mnist", 64, 5, api_name="/sample")
    again = client.predict("dcgan-mnist", 64, 5, api_name="/sample")
    assert Image.open(grid).size == (726, 726) and np.array_equal(pixels(grid), pixels(again))
    assert pixels(grid).std() > 30
    rows = client.predict("cgan-mnist", ["0", "9"], 4, 1, api_name="/conditional")
    assert Image.open(rows).size == (3 * (4 * 30 + 2), 3 * (2 * 30 + 2))
    gif, frames = client.predict("dcgan-mnist", 0, 1, 6, "lerp", None, api_name="/interpolate")
    with Image.open(gif) as im:
        assert im.n_frames == 10 and im.size == (280, 280)
    assert Image.open(frames).size == (3 * (6 * 30 + 2), 3 * 32)
    arith = client.predict("dcgan-mnist", "0, 1, 2", "3, 4, 5", "6, 7, 8", None, api_name="/arithmetic")
    assert pixels(arith).std() > 30
    assert "dcgan-mnist" in client.predict("dcgan-mnist", api_name="/about")
    shoes = client.predict("cgan-fashion", ["Sneaker"], 3, 0, api_name="/conditional")
    assert Image.open(shoes).size == (3 * (3 * 30 + 2), 3 * 32)
    walk, _ = client.predict("cgan-mnist", 0, 1, 4, "slerp", "4", api_name="/interpolate")
    assert Image.open(walk).n_frames == 6


@pytest.mark.slow
def test_bad_input_through_the_api(client, server):
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="seed must be a whole number in 0..2147483647, got 1.5"):
        client.predict("dcgan-mnist", 4, 1.5, api_name="/sample")          # never rounded to 2
    with pytest.raises(AppError, match="number of images must be in 1..256, got 100000"):
        client.predict("dcgan-mnist", 100000, 5, api_name="/sample")       # never clamped to 256
    with pytest.raises(AppError, match="label 42 is out of range for cgan-mnist; valid: 0..9"):
        client.predict("cgan-mnist", ["42"], 2, 1, api_name="/conditional")
    rss = lambda: int(Path(f"/proc/{server[1].pid}/status").read_text().split("VmRSS:")[1].split()[0])  # noqa: E731
    before, t0 = rss(), time.perf_counter()
    with pytest.raises(AppError, match="at most 16 classes"):
        client.predict("cgan-mnist", ["3"] * 6250, 16, 0, api_name="/conditional")
    assert time.perf_counter() - t0 < 10 and rss() - before < 100_000       # kB: nothing was drawn


@pytest.mark.slow
def test_uploads_are_limited_in_size(server):
    import httpx
    url = server[0] + "gradio_api/upload"
    small = httpx.post(url, files={"files": ("a.png", b"\x89PNG" + b"0" * 1000)})
    assert small.status_code == 200
    big = httpx.post(url, files={"files": ("b.png", b"0" * (6 * 2**20))})
    assert big.status_code == 413 and "5" in big.text
    stored = [p for p in server[2].rglob("b.png")]
    assert stored == []


@pytest.mark.slow
def test_concurrent_clients_asking_for_the_same_picture_all_get_it(server):
    """16 clients x 30 /sample calls with the page's default seed: the content-addressed file was
    rewritten while others downloaded it (17-19 of 480 lost); and 6 x 10 identical walks, which
    shared one temporary GIF (10 of 60 lost)."""
    from gradio_client import Client
    url = server[0]
    clients = [Client(url, verbose=False) for _ in range(16)]
    results, errors, lock = [], [], threading.Lock()

    def run(client, calls, api_name, args):
        for _ in range(calls):
            try:
                out = client.predict(*args, api_name=api_name)
                with lock:
                    results.append(out if isinstance(out, str) else out[0])
            except Exception as e:  # counted: the test fails on any
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")

    for n_clients, calls, api_name, args in [(16, 30, "/sample", ("dcgan-mnist", 64, 0)),
                                              (6, 10, "/interpolate", ("dcgan-mnist", 0, 1, 16, "slerp", None))]:
        results.clear()
        threads = [threading.Thread(target=run, args=(clients[i], calls, api_name, args)) for i in range(n_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(results) == n_clients * calls
        first = Path(results[0]).read_bytes()
        assert all(Path(r).read_bytes() == first for r in results)      # every download complete and equal
    files = list((server[2] / "ganzoo-demo").iterdir())
    assert not [f for f in files if f.name.startswith(".part-")]


@pytest.mark.slow
def test_gradio_server_variables_choose_where_it_listens(tmp_path):
    """GRADIO_SERVER_NAME is honoured (127.0.0.2: another loopback address), --port overrides GRADIO_SERVER_PORT."""
    port, ignored = free_port(), free_port()
    proc, log, _ = start_app(tmp_path, "--port", str(port),
                             env={"GRADIO_SERVER_NAME": "127.0.0.2", "GRADIO_SERVER_PORT": str(ignored)})
    try:
        wait_for("127.0.0.2", port, proc)
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0       # not on 127.0.0.1
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.2", ignored)) != 0
    finally:
        stop(proc, log)


@pytest.mark.slow
def test_a_busy_port_through_app_py(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run([sys.executable, str(REPO / "app.py"), "--port", str(port)], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "GRADIO_TEMP_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"app.py: error: port {port} on 127.0.0.1 is in use (another demo or server?); "
                                       f"start the demo on another port with --port, e.g. --port {port + 1}"]


# ---- a real browser ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_real_browser_uses_every_tab(server, tmp_path):
    """Every tab in Chromium; GANZOO_SCREENSHOTS=docs/images keeps demo-*.png (demo.png is the first)."""
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("GANZOO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)

    def src(elem_id):
        return page.locator(f"#{elem_id} img").get_attribute("src")

    def pick_model(name):
        page.locator("#model input").click()
        page.get_by_role("option", name=f"{name} (").first.click()
        page.keyboard.press("Escape")
        page.wait_for_timeout(800)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(server[0])
        # the Sample tab fills its grid on page load
        page.locator("#sample-grid img").wait_for(timeout=30_000)
        page.wait_for_function("document.querySelector('#sample-grid img').complete", timeout=30_000)
        page.screenshot(path=str(shots / "demo.png"))              # as a visitor first sees it: seed 0
        first = src("sample-grid")
        page.get_by_role("button", name="Random seed").click()
        page.get_by_role("button", name="Generate", exact=True).click()
        page.wait_for_function(f"document.querySelector('#sample-grid img').src !== {first!r}", timeout=30_000)
        page.screenshot(path=str(shots / "demo-sample.png"))
        # an error: a toast names the value and the range, and the picture stays
        good = src("sample-grid")
        page.get_by_label("Number of images (1..256)").fill("0")
        page.get_by_role("button", name="Generate", exact=True).click()
        page.get_by_text("number of images must be in 1..256, got 0").first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        assert src("sample-grid") == good and page.locator("#sample-grid img").is_visible()
        page.screenshot(path=str(shots / "demo-error.png"))
        page.locator(".toast-close").first.click()

        # the Class-conditioning tab follows the one Model picker
        page.get_by_role("tab", name="Class-conditioning").click()
        page.locator("#conditional-note").get_by_text("dcgan-mnist is unconditional").wait_for(timeout=10_000)
        pick_model("cgan-fashion")
        page.locator("#conditional-classes input").click()
        page.get_by_role("option", name="Sneaker", exact=True).click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Generate rows").click()
        page.locator("#conditional-grid img").wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "demo-conditional.png"))

        page.get_by_role("tab", name="Latent interpolation").click()
        page.get_by_role("button", name="Interpolate").click()
        page.locator("#walk-gif img").wait_for(timeout=30_000)
        page.locator("#walk-strip img").wait_for(timeout=30_000)
        assert ".gif" in src("walk-gif")
        box = page.locator("#walk-gif img").bounding_box()
        assert box["width"] >= 250                       # shown large, not 112 px
        frames = page.locator("#walk-strip img").bounding_box()
        assert frames["height"] >= 150                   # two readable rows of 8, not a 20 px strip
        page.screenshot(path=str(shots / "demo-interpolation.png"))

        page.get_by_role("tab", name="Latent arithmetic").click()
        page.get_by_role("button", name="Compute").click()
        page.locator("#arithmetic img").wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "demo-arithmetic.png"))

        page.get_by_role("tab", name="About the model").click()
        page.locator("#about").get_by_text("sha256").first.wait_for(timeout=10_000)
        page.locator("#about-samples img").wait_for(timeout=10_000)
        page.locator("#about-loss img").wait_for(timeout=10_000)
        assert page.locator("#about").get_by_text("cgan-fashion").first.is_visible()
        assert page.get_by_role("button", name="Refresh").count() == 0
        page.screenshot(path=str(shots / "demo-about.png"))
        browser.close()
    for name in ("demo", "demo-sample", "demo-error", "demo-conditional", "demo-interpolation", "demo-arithmetic",
                 "demo-about"):
        with Image.open(shots / f"{name}.png") as im:
            assert im.size == (1280, 1000) and np.asarray(im.convert("L")).std() > 5


@pytest.mark.slow
def test_load_script_runs_clean():
    """benchmarks/load_test.py against its own server: a short run must end with 0 errors and a bounded cache."""
    out = subprocess.run([sys.executable, str(REPO / "benchmarks/load_test.py"), "--clients", "4", "--requests", "5"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    assert "errors 0" in out.stdout and "p50" in out.stdout and "cache" in out.stdout
