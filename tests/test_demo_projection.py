"""The demo's "Your drawing" tab: its event functions in-process, the page it is part of, and
(slow) a real Chromium that draws a stroke on the sketchpad and gets a reconstruction."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

gr = pytest.importorskip("gradio")
from ganzoo import demo  # noqa: E402
from ganzoo import demo_projection as tab
from ganzoo.demo import PictureCache  # noqa: E402
from ganzoo.metrics import embed, load_evaluator  # noqa: E402
from tests.conftest import free_port  # noqa: E402


def sketch(points=((80, 60), (200, 60), (120, 230)), ellipse=None) -> dict:
    """A sketchpad value as Gradio passes it: black strokes on a transparent 280x280 canvas."""
    im = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    if ellipse:
        draw.ellipse(ellipse, outline=(0, 0, 0, 255), width=16)
    else:
        draw.line(list(points), fill=(0, 0, 0, 255), width=16)
    return {"background": None, "layers": [], "composite": im}


SEVEN, ZERO = sketch(), sketch(ellipse=[(70, 40), (210, 240)])


@pytest.fixture
def cache(tmp_path):
    return PictureCache(tmp_path / "pictures")


def grid_cells(path, n: int, cell: int, scale: int) -> list[np.ndarray]:
    """The n cells of a one-row make_grid picture (padding 2)."""
    a = np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 255
    step = (cell + 2) * scale
    return [a[2 * scale:(2 + cell) * scale, 2 * scale + i * step:2 * scale + i * step + cell * scale] for i in range(n)]


def test_a_drawn_seven_is_found_and_reconstructed(cache):
    path, text = tab.project_drawing("cgan-mnist", SEVEN, None, cache=cache)
    assert "**Class found: 7**" in text and "MSE" in text
    target, recon = grid_cells(path, 2, 28, tab.SHOWN)
    assert Image.open(path).size == (tab.SHOWN * 62, tab.SHOWN * 32)
    assert target.max() > 0.9 and recon.max() > 0.9 and ((target - recon) ** 2).mean() < 0.02
    again, _ = tab.project_drawing("cgan-mnist", SEVEN, None, cache=cache)
    assert again == path                                     # same drawing, same cached file


def test_unconditional_models_say_no_class(cache):
    _, text = tab.project_drawing("dcgan-mnist", SEVEN, None, cache=cache)
    assert "Class found" not in text and "MSE" in text


def test_the_upload_is_used_instead_of_the_drawing(cache):
    one = Image.new("L", (120, 300), 0)
    ImageDraw.Draw(one).line([(60, 20), (60, 280)], fill=255, width=12)     # light on dark, as MNIST
    _, text = tab.project_drawing("cgan-mnist", SEVEN, one, cache=cache)
    assert "**Class found: 1**" in text


def test_walk_to_a_seed_and_to_a_second_drawing(cache):
    gif, strip = tab.walk("dcgan-mnist", SEVEN, None, tab.TO_SEED, 3, None, 6, "slerp", cache=cache)
    with Image.open(gif) as im:
        assert im.n_frames == 10                              # 6 frames there and 4 back
    assert Image.open(strip).size == (demo.SCALE * (6 * 30 + 2), demo.SCALE * 32)
    gif, strip = tab.walk("cgan-mnist", SEVEN, None, tab.TO_DRAWING, 0, ZERO, 8, "lerp", cache=cache)
    cells = np.stack(grid_cells(strip, 8, 28, demo.SCALE))[:, None, ::demo.SCALE, ::demo.SCALE]   # (8, 1, 28, 28)
    import torch
    pred = embed(load_evaluator("mnist"), torch.tensor(cells, dtype=torch.float32)).pred
    assert pred[0] == 7 and pred[-1] == 0                     # from the seven to the zero


@pytest.mark.parametrize("call, message", [
    (lambda c: tab.project_drawing("cgan-mnist", None, None, cache=c), "nothing to project: draw on the drawing sketchpad"),
    (lambda c: tab.project_drawing("cgan-mnist", {"composite": Image.new("RGBA", (280, 280))}, None, cache=c),
     "the image is empty: nothing stands out from its background"),
    (lambda c: tab.project_drawing("cgan-mnst", SEVEN, None, cache=c), "unknown model 'cgan-mnst'"),
    (lambda c: tab.walk("cgan-mnist", SEVEN, None, tab.TO_DRAWING, 0, None, 8, "slerp", cache=c),
     "nothing to project: draw on the second sketchpad"),
    (lambda c: tab.walk("cgan-mnist", SEVEN, None, tab.TO_SEED, 0, None, 100, "slerp", cache=c),
     "steps must be in 2..64, got 100"),
    (lambda c: tab.walk("cgan-mnist", SEVEN, None, tab.TO_SEED, -4, None, 8, "slerp", cache=c),
     "seed must be in 0..2147483647, got -4"),
    (lambda c: tab.walk("cgan-mnist", SEVEN, None, tab.TO_SEED, 0, None, 8, "cubic", cache=c),
     "unknown method 'cubic'; valid: slerp, lerp"),
    (lambda c: tab.walk("cgan-mnist", SEVEN, None, "the moon", 0, None, 8, "slerp", cache=c),
     "unknown walk end"),
])
def test_bad_input_is_a_clear_error(cache, call, message):
    with pytest.raises(gr.Error, match=message):
        call(cache)


def test_the_tab_and_its_endpoints_are_on_the_demo_page():
    for page in (tab.standalone(), demo.build_demo()):
        names = {getattr(f, "api_name", None) for f in page.fns.values()}
        assert {"project", "project_walk"} <= names
    assert "Your drawing" in [title for title, _ in demo.optional_tabs()]


# ---- a real browser ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_a_stroke_drawn_in_chromium_is_projected(tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    shots = Path(os.environ.get("GANZOO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    page_app = tab.standalone("cgan-mnist")
    page_app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False,
                            quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-component-update", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("#drawing button[aria-label='Brush']").first.click()
            box = page.locator("#drawing canvas").first.bounding_box()
            x, y = box["x"] + box["width"] / 2 - 60, box["y"] + box["height"] / 2 - 100
            page.mouse.move(x, y)
            page.mouse.down()                                   # a 7: across, then down to the left
            for i in range(1, 11):
                page.mouse.move(x + 12 * i, y, steps=2)
            for i in range(1, 21):
                page.mouse.move(x + 120 - 5 * i, y + 11 * i, steps=2)
            page.mouse.up()
            page.get_by_role("button", name="Project", exact=True).click()
            page.locator("#projection img").wait_for(timeout=120_000)
            page.locator("#projection-class").get_by_text("Class found").wait_for(timeout=10_000)
            found = page.locator("#projection-class").inner_text()
            src = page.locator("#projection img").get_attribute("src")
            page.screenshot(path=str(shots / "demo-drawing.png"))
            browser.close()
    finally:
        page_app.close()
    assert "Class found: 7" in found and ".png" in src
    with Image.open(shots / "demo-drawing.png") as im:
        assert np.asarray(im.convert("L")).std() > 5
