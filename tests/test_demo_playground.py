"""The Playground tab: its event functions in-process (fast), and the page in Chromium (slow)."""
from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import REPO, free_port, wait_for_port
from ganzoo import demo_playground as dp
from ganzoo import playground as pg

def toy(**changes) -> list:
    """The 2-D settings widgets' values: the collapse preset, seed 0, with ``changes``."""
    values = {"seed": 0, "latent_dim": 16, "instance_noise": 0.0, "label_smoothing": 0.0, "d_steps": 1,
              "minibatch_std": False, **pg.PRESETS["ring: mode collapse"], **changes}
    return [values[f] for f in dp.TOY_FIELDS]


def digits(**changes) -> list:
    values = {"family": "dcgan", "seed": 0, "loss": "nonsaturating", "d_steps": 1, "lr_d": 2e-4, "lr_g": 2e-4,
              "instance_noise": 0.0, "label_smoothing": 0.0, **changes}
    return [values[f] for f in dp.DIGIT_FIELDS]


COLLAPSE, DIGITS = toy(), digits()


@pytest.fixture(autouse=True)
def whole_frames(monkeypatch):
    """Each frame trains exactly its iterations, however busy the machine (the cap on a frame's
    seconds keeps the page moving on a slow machine, but makes step counts depend on the clock)."""
    monkeypatch.setattr(dp, "FRAME_SECONDS", 600)
    monkeypatch.setattr(dp, "DIGIT_FRAME_SECONDS", 600)


def image_of(html: str) -> Image.Image:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    return Image.open(io.BytesIO(base64.b64decode(data)))


def frames(stream, slot, n: int) -> list:
    """The first n frames of a training stream, then Pause, then the rest (the last frame)."""
    out = []
    for frame in stream:
        out.append(frame)
        if len(out) == n:
            dp.pause(slot)
    return out


def test_train_streams_changing_frames_until_paused():
    slot = dp.Slot()
    out = frames(dp.toy_train(slot, 5, *COLLAPSE), slot, 4)
    assert len(out) == 5                       # four frames, then the one that says it paused
    run = slot.run
    assert run.game.step == 20 and run.game.d_updates == 20
    fields = [f[0] for f in out[:4]]
    assert len(set(fields)) == 4               # every frame shows a different plane
    assert image_of(fields[0]).size == (dp.FIELD_PX, dp.FIELD_PX)
    assert "step **20**" in out[-1][2] and out[-1][2].endswith("paused")
    assert re.search(r"modes covered \*\*\d / 8\*\*", out[-1][2])


def test_pause_before_a_frame_stops_at_once():
    slot = dp.Slot()
    dp.toy_reset(slot, *COLLAPSE)
    stream = dp.toy_train(slot, 10, *COLLAPSE)
    next(stream)
    assert dp.pause(slot).endswith("paused")
    last = list(stream)
    assert len(last) == 1 and last[0][2].endswith("paused") and slot.run.game.step == 10


def test_single_steps_and_reset():
    slot = dp.Slot()
    frame = dp.toy_reset(slot, *COLLAPSE)
    run = slot.run
    assert (run.game.step, run.game.d_updates) == (0, 0)
    d_before = {k: v.clone() for k, v in run.game.D.state_dict().items()}
    field_d, _, status = dp.toy_step("d", slot, *COLLAPSE)
    assert slot.run is run and (run.game.step, run.game.d_updates) == (0, 1)
    assert any(not torch.equal(d_before[k], v) for k, v in run.game.D.state_dict().items())
    assert field_d != frame[0]                 # D moved: its heat map did
    dp.toy_step("g", slot, *COLLAPSE)
    assert (run.game.step, run.game.d_updates) == (1, 1)
    frame2 = dp.toy_reset(slot, *COLLAPSE)
    assert slot.run is not run and slot.run.game.step == 0 and run.stop
    assert frame2[0] == frame[0]               # the same seed is the same start, to the pixel


def test_reset_ends_the_old_stream_without_another_frame():
    slot = dp.Slot()
    stream = dp.toy_train(slot, 5, *COLLAPSE)
    next(stream)
    old = slot.run
    dp.toy_reset(slot, *COLLAPSE)
    assert list(stream) == [] and old.game.step == 5 and slot.run.game.step == 0


def test_settings_change_mid_run():
    slot = dp.Slot()
    frames(dp.toy_train(slot, 5, *COLLAPSE), slot, 2)
    run = slot.run
    dp.toy_configure(slot, *toy(lr_d=1e-3, minibatch_std=True))
    assert slot.run is run and run.game.lr_d == 1e-3 and run.game.D.minibatch_std and run.game.step == 10
    assert run.game.opt_d.param_groups[0]["lr"] == 1e-3
    # a new target, seed or latent size is a new run, from the next Train or step
    other = toy(target="grid")
    dp.toy_configure(slot, *other)
    assert slot.run is run and run.game.target.name == "ring"
    dp.toy_step("g", slot, *other)
    assert slot.run is not run and slot.run.game.target.name == "grid" and slot.run.game.step == 1


def test_sessions_do_not_share_runs():
    a, b = dp.Slot(), dp.Slot()
    frames(dp.toy_train(a, 3, *COLLAPSE), a, 1)
    frames(dp.toy_train(b, 3, *COLLAPSE), b, 2)
    assert a.run is not b.run and a.run.game is not b.run.game and (a.run.game.step, b.run.game.step) == (3, 6)


def test_run_limits(monkeypatch):
    monkeypatch.setattr(dp, "MAX_TOY_STEPS", 12)
    slot = dp.Slot()
    out = list(dp.toy_train(slot, 5, *COLLAPSE))
    assert slot.run.game.step == 12 and "limit of 12 iterations" in out[-1][2]
    with pytest.raises(dp.PlaygroundError, match="limit of 12"):
        dp.toy_step("d", slot, *COLLAPSE)
    monkeypatch.setattr(dp, "TRAIN_SECONDS", 0)
    slot = dp.Slot()
    out = list(dp.toy_train(slot, 5, *COLLAPSE))
    assert len(out) == 1 and slot.run.game.step == 0 and "stopped after 0 s" in out[0][2]


@pytest.mark.parametrize("name, value, words", [
    ("target", "rng", ["'rng'", "ring"]),
    ("seed", -1, ["seed", "-1"]),
    ("seed", 1.5, ["seed", "1.5"]),
    ("latent_dim", 3, ["latent size", "2, 16", "3"]),
    ("loss", "wgan", ["'wgan'", "wgan-gp"]),
    ("d_steps", 11, ["D steps", "11"]),
    ("lr_d", "fast", ["lr_d", "'fast'"]),
])
def test_bad_settings_are_clear_errors(name, value, words):
    with pytest.raises(dp.PlaygroundError) as e:
        next(dp.toy_train(dp.Slot(), 5, *toy(**{name: value})))
    for w in words:
        assert w in str(e.value)


def test_presets_fill_the_settings():
    names = [f for f in dp.TOY_FIELDS if f != "seed"]
    values = dict(zip(names, dp.apply_preset("ring: collapse cured by minibatch std")))
    assert values == {"target": "ring", "latent_dim": 16, "loss": "nonsaturating", "d_steps": 1, "lr_d": 1e-4,
                      "lr_g": 1e-3, "minibatch_std": True, "instance_noise": 0.0, "label_smoothing": 0.0}
    for name in pg.PRESETS:                    # every preset's values are among the widgets' choices
        values = dict(zip(names, dp.apply_preset(name)))
        assert values["lr_d"] in dp.LRS and values["lr_g"] in dp.LRS and values["latent_dim"] in dp.LATENT_DIMS
    with pytest.raises(dp.PlaygroundError, match="unknown preset 'nope'"):
        dp.apply_preset("nope")


def test_minimax_and_nonsaturating_side_by_side():
    slot = dp.Slot()
    field, curves, status = dp.compare_reset(slot, *COLLAPSE)
    minimax, ns = slot.run.games
    assert (minimax.loss, ns.loss) == ("minimax", "nonsaturating")
    assert all(torch.equal(a, b) for a, b in zip(minimax.G.state_dict().values(), ns.G.state_dict().values()))
    assert image_of(field).size == (2 * dp.FIELD_PX + 8, dp.FIELD_PX)
    out = frames(dp.compare_train(slot, 10, *COLLAPSE), slot, 2)
    assert minimax.step == ns.step == 20
    assert "minimax: step **20**" in out[-1][2] and "nonsaturating: step **20**" in out[-1][2]
    # the settings' loss does not turn the minimax side into a second non-saturating one
    dp.toy_configure(slot, *COLLAPSE)
    assert minimax.loss == "minimax"


def test_curves_image_draws_the_histories():
    gan = pg.ToyGAN(seed=0, eval_every=10)
    gan.train(50)
    img = dp.curves_image([("", gan)])
    assert img.size == (dp.FIELD_PX, 360)
    # the loss panel holds D's blue and G's orange lines
    pixels = set(map(tuple, np.asarray(img.crop((34, 14, dp.FIELD_PX - 4, 86))).reshape(-1, 3).tolist()))
    assert dp.D_COLOUR in pixels and dp.G_COLOUR in pixels


def test_digits_train_on_a_data_folder(monkeypatch, digits_dir):
    monkeypatch.setenv(dp.MNIST_ENV, str(digits_dir))
    dp._digits.cache_clear()
    ok, where = dp.digits_available()
    assert ok and "256 digits" in where
    slot = dp.Slot()
    out = frames(dp.digits_train(slot, 2, *DIGITS), slot, 2)
    run = slot.run
    assert run.game.step == 4 and image_of(out[0][0]).size == (3 * (8 * 30 + 2),) * 2   # 8x8 digits, scale 3
    assert out[0][0] != out[1][0]
    dp.digits_step("d", slot, *DIGITS)
    assert (run.game.step, run.game.d_updates) == (4, 5)
    dp.digits_configure(slot, *digits(lr_d=1e-3))
    assert run.game.opt_d.param_groups[0]["lr"] == 1e-3
    dp.digits_reset(slot, *DIGITS)
    assert slot.run is not run and slot.run.game.step == 0


def test_digits_without_data_say_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv(dp.MNIST_ENV, str(tmp_path))
    ok, message = dp.digits_available()
    assert not ok and dp.MNIST_ENV in message and "does not ship" in message
    with pytest.raises(dp.PlaygroundError, match=dp.MNIST_ENV):
        next(dp.digits_train(dp.Slot(), 2, *DIGITS))
    demo = dp.standalone()                      # the page says so, and its digit buttons are off
    buttons = {b.elem_id: b for b in demo.blocks.values() if type(b).__name__ == "Button"}
    assert not buttons["playground-digits-train"].interactive and buttons["playground-train"].interactive
    notes = [b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) == "playground-digits-data"]
    assert dp.MNIST_ENV in notes[0]


def test_tab_events_are_named_and_bounded():
    demo = dp.standalone()
    fns = {fn.api_name: fn for fn in demo.fns.values() if not fn.is_cancel_function}
    for part in ("playground", "playground_compare", "playground_digits"):
        assert {f"{part}_train", f"{part}_pause", f"{part}_reset"} <= set(fns)
    assert {"playground_d_step", "playground_g_step", "playground_digits_d_step"} <= set(fns)
    assert all("playground" in name for name in fns)
    trains = [fns[f"{p}_train"] for p in ("playground", "playground_compare", "playground_digits")]
    # one limit over every visitor's training streams
    assert {(f.concurrency_id, f.concurrency_limit) for f in trains} == {("playground_train", dp.TRAIN_CONCURRENCY)}
    # each session's state starts as a copy of an empty Slot (Gradio deep-copies a State's value per session)
    states = [b for b in demo.blocks.values() if type(b).__name__ == "State"]
    assert len(states) == 3 and all(isinstance(s.value, dp.Slot) and s.value.run is None for s in states)


# --- in Chromium -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    port = free_port()
    tmp = tmp_path_factory.mktemp("playground")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp)}
    code = ("from ganzoo.demo_playground import main; "
            f"main(['--host', '127.0.0.1', '--port', '{port}'])")
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, timeout=120)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def status_step(page, elem="#playground-status") -> int:
    m = re.search(r"step (\d+)", page.locator(elem).inner_text())
    return int(m.group(1)) if m else -1


def field_src(page, elem="#playground-field img") -> str:
    return page.locator(elem).get_attribute("src")


@pytest.mark.slow
def test_browser_train_frames_change_and_pause_stops_them(page_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(page_url)
    page.locator("#playground-train").click()
    page.wait_for_function("() => /step \\d+/.test(document.querySelector('#playground-status').innerText)",
                           timeout=60_000)
    first = field_src(page)
    page.wait_for_function(f"() => document.querySelector('#playground-field img').src !== {first!r}",
                           timeout=30_000)
    seen = {field_src(page)}
    for _ in range(6):
        page.wait_for_timeout(300)
        seen.add(field_src(page))
    assert len(seen) >= 3                                  # frames keep coming
    assert status_step(page) > 0
    page.locator("#playground-pause").click()
    page.wait_for_function("() => /paused/.test(document.querySelector('#playground-status').innerText)",
                           timeout=30_000)
    paused_at, src = status_step(page), field_src(page)
    page.wait_for_timeout(2000)
    assert status_step(page) == paused_at and field_src(page) == src
    d_updates = int(re.search(r"D updates (\d+)", page.locator("#playground-status").inner_text()).group(1))
    page.locator("#playground-d-step").click()
    page.wait_for_function(f"() => /D updates {d_updates + 1}\\b/.test("
                           "document.querySelector('#playground-status').innerText)", timeout=30_000)
    assert status_step(page) == paused_at                  # one D step: the iteration count stays
    assert field_src(page) != src                          # and D's heat map moved
    # another visitor has a run of their own
    other = browser.new_page(viewport={"width": 1280, "height": 1400})
    other.goto(page_url)
    other.locator("#playground-d-step").click()
    other.wait_for_function("() => /step 0 \\(D updates 1\\)/.test("
                            "document.querySelector('#playground-status').innerText)", timeout=60_000)
    assert status_step(page) == paused_at
    other.close()
    page.close()


@pytest.mark.slow
def test_browser_collapse_preset_shows_in_the_modes_readout(page_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(page_url)
    assert page.locator("#playground-preset input").input_value() == "ring: mode collapse"
    speed = page.locator("#playground-speed input[type=number]")
    speed.fill("200")
    speed.press("Enter")
    page.locator("#playground-reset").click()
    page.wait_for_function("() => /step 0\\b/.test(document.querySelector('#playground-status').innerText)",
                           timeout=60_000)
    page.locator("#playground-train").click()
    page.wait_for_function("() => { const m = /step (\\d+)/.exec(document.querySelector('#playground-status')"
                           ".innerText); return m && +m[1] >= 2000; }", timeout=240_000)
    page.locator("#playground-pause").click()
    page.wait_for_function("() => /paused/.test(document.querySelector('#playground-status').innerText)",
                           timeout=30_000)
    covered = int(re.search(r"modes covered (\d) / 8", page.locator("#playground-status").inner_text()).group(1))
    assert covered <= 3
    page.close()
