"""The Gradio demo: its functions in-process, every endpoint through gradio_client against a
real server process, and (slow) a real Chromium driven by playwright."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
import ganzoo  # noqa: E402
from ganzoo import demo  # noqa: E402
from tests.conftest import REPO, free_port, wait_for_port  # noqa: E402


def pixels(img) -> np.ndarray:
    return np.asarray(img if isinstance(img, Image.Image) else Image.open(img))


# ---- in-process ------------------------------------------------------------------------------
def test_sample_grid_size_and_determinism():
    a = demo.sample("dcgan-mnist", 64, 3)
    assert a.size == (3 * (8 * 30 + 2),) * 2
    assert np.array_equal(pixels(a), pixels(demo.sample("dcgan-mnist", 64, 3)))
    assert not np.array_equal(pixels(a), pixels(demo.sample("dcgan-mnist", 64, 4)))
    assert pixels(a).std() > 30


def test_conditional_grid_has_a_row_per_class():
    img = demo.conditional("cgan-mnist", ["3", "7"], 5, 0)
    assert img.size == (3 * (5 * 30 + 2), 3 * (2 * 30 + 2))
    assert demo.conditional("cgan-mnist", [], 2, 0).size[1] == 3 * (10 * 30 + 2)     # none chosen: all
    assert demo.conditional("cgan-fashion", ["Sneaker", "Bag"], 3, 0).size[1] == 3 * (2 * 30 + 2)  # by name


def test_interpolation_gif_and_strip(tmp_path):
    path, strip = demo.interpolate("cgan-mnist", 0, 1, 8, "slerp", "4", workdir=tmp_path)
    with Image.open(path) as im:
        assert im.n_frames == 14 and im.size == (112, 112)        # 8 frames there and 6 back
    assert strip.size == (2 * (8 * 30 + 2), 2 * 32)
    assert demo.interpolate("cgan-mnist", 0, 1, 8, "slerp", "4", workdir=tmp_path)[0] == path   # reused


def test_arithmetic_strip():
    img = demo.arithmetic("dcgan-mnist", 0, 1, 2)
    assert img.size == (4 * (4 * 32 + 4), 4 * 36)
    assert pixels(img).std() > 30


def test_about_names_the_weights():
    text = demo.about("cgan-mnist")
    assert f"sha256 `{ganzoo.get_entry('cgan-mnist').sha256[:8]}" in text and "hf-hub:ganzoo/cgan-mnist@main" in text and "## Evaluation" in text


@pytest.mark.parametrize("call,message", [
    (lambda: demo.sample("dcgan-mnist", 0, 1), "number of images must be in 1..256, got 0"),
    (lambda: demo.sample("dcgan-mnist", 10_000, 1), "number of images must be in 1..256"),
    (lambda: demo.sample("dcgan-mnist", 2.5, 1), "number of images must be a whole number"),
    (lambda: demo.sample("dcgan-mnist", 4, -3), "seed must be in 0..2147483647, got -3"),
    (lambda: demo.sample("gpt-5", 4, 1), "unknown model 'gpt-5'; choose one of cgan-fashion, cgan-mnist, dcgan-fashion"),
    (lambda: demo.conditional("dcgan-mnist", [], 2, 0), "dcgan-mnist is unconditional; choose a conditional model: cgan-fashion, cgan-mnist"),
    (lambda: demo.conditional("cgan-mnist", ["11"], 2, 0), "unknown class '11' for cgan-mnist"),
    (lambda: demo.interpolate("dcgan-mnist", 0, 1, 500, "slerp"), "steps must be in 2..64, got 500"),
    (lambda: demo.interpolate("dcgan-mnist", 0, 1, 4, "cubic"), "unknown method 'cubic'; valid: slerp, lerp"),
    (lambda: demo.arithmetic("cgan-mnist", 0, 1, 2, None), "cgan-mnist is conditional: pick a class"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(gr.Error, match=message.replace("(", "\\(").replace(")", "\\)")):
        call()


def test_models_are_loaded_once():
    assert demo.get_model("dcgan-mnist") is demo.get_model("dcgan-mnist")


def test_app_contains_no_model_code():
    source = (REPO / "ganzoo" / "demo.py").read_text() + (REPO / "app.py").read_text()
    for forbidden in ("nn.Module", "torch.nn", "Conv", "safetensors", "ganzoo.models"):
        assert forbidden not in source


# ---- end to end: app.py in a subprocess, called with gradio_client ---------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    tmp = tmp_path_factory.mktemp("gradio")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp), "HF_HUB_OFFLINE": "1"}
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=tmp)
    try:
        wait_for_port(port, proc, timeout=90)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client
    return Client(server, verbose=False)


def test_every_endpoint_through_gradio_client(client):
    grid = client.predict("dcgan-mnist", 64, 5, api_name="/sample")
    again = client.predict("dcgan-mnist", 64, 5, api_name="/sample")
    assert Image.open(grid).size == (726, 726) and np.array_equal(pixels(grid), pixels(again))
    assert pixels(grid).std() > 30
    rows = client.predict("cgan-mnist", ["0", "9"], 4, 1, api_name="/conditional")
    assert Image.open(rows).size == (3 * (4 * 30 + 2), 3 * (2 * 30 + 2))
    gif, strip = client.predict("dcgan-mnist", 0, 1, 6, "lerp", None, api_name="/interpolate")
    with Image.open(gif) as im:
        assert im.n_frames == 10
    assert Image.open(strip).size == (2 * (6 * 30 + 2), 64)
    arith = client.predict("dcgan-mnist", 0, 1, 2, None, api_name="/arithmetic")
    assert pixels(arith).std() > 30
    assert "dcgan-mnist" in client.predict("dcgan-mnist", api_name="/about")
    shoes = client.predict("cgan-fashion", ["Sneaker"], 3, 0, api_name="/conditional")
    assert Image.open(shoes).size == (3 * (3 * 30 + 2), 3 * 32)
    walk, _ = client.predict("cgan-mnist", 0, 1, 4, "slerp", "4", api_name="/interpolate")
    assert Image.open(walk).n_frames == 6


def test_bad_input_through_the_api(client):
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="Value 100000 is greater than maximum value 256"):   # the slider, server-side
        client.predict("dcgan-mnist", 100000, 5, api_name="/sample")
    with pytest.raises(AppError, match="unknown class '42' for cgan-mnist; valid: 0, 1, 2"):
        client.predict("cgan-mnist", ["42"], 2, 1, api_name="/conditional")


# ---- a real browser ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_real_browser_uses_every_tab(server, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("GANZOO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(server)
        # the Sample tab fills its grid on page load
        page.locator("#sample-grid img").wait_for(timeout=30_000)
        first = page.locator("#sample-grid img").get_attribute("src")
        page.get_by_role("button", name="Random seed").click()
        page.get_by_role("button", name="Generate", exact=True).click()
        page.wait_for_function(f"document.querySelector('#sample-grid img').src !== {first!r}", timeout=30_000)
        page.screenshot(path=str(shots / "demo-sample.png"))

        page.get_by_role("tab", name="Class-conditioning").click()
        page.locator("#conditional-classes input").click()
        page.get_by_role("option", name="7", exact=True).click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Generate rows").click()
        page.locator("#conditional-grid img").wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "demo-conditional.png"))

        page.get_by_role("tab", name="Latent interpolation").click()
        page.get_by_role("button", name="Interpolate").click()
        page.locator("#walk-gif img").wait_for(timeout=30_000)
        page.locator("#walk-strip img").wait_for(timeout=30_000)
        assert ".gif" in page.locator("#walk-gif img").get_attribute("src")
        page.screenshot(path=str(shots / "demo-interpolation.png"))

        page.get_by_role("tab", name="Latent arithmetic").click()
        page.get_by_role("button", name="Compute").click()
        page.locator("#arithmetic img").wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "demo-arithmetic.png"))

        page.get_by_role("tab", name="About the model").click()
        page.locator("#about").get_by_text("sha256").first.wait_for(timeout=10_000)
        page.screenshot(path=str(shots / "demo-about.png"))
        browser.close()
    for name in ("sample", "conditional", "interpolation", "arithmetic", "about"):
        with Image.open(shots / f"demo-{name}.png") as im:
            assert im.size == (1280, 1000) and np.asarray(im.convert("L")).std() > 5


@pytest.mark.slow
def test_load_script_runs_clean():
    """benchmarks/load_test.py against its own server: a short run must end with 0 errors."""
    out = subprocess.run([sys.executable, str(REPO / "benchmarks/load_test.py"), "--clients", "4", "--requests", "40"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    assert "errors 0" in out.stdout and "p50" in out.stdout
