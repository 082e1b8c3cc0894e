"""The demo's "Playground" tab: watch a GAN learn, live, in the browser.

Three parts, each with its own run per browser session (gr.State, nothing shared between visitors):

- 2-D: a ``ganzoo.playground.ToyGAN`` on a ring, grid, spiral or moons. Train streams frames: D's
  output as a heat map (green: D says real, purple: D says fake), real points (dark green), G's
  samples (purple) with arrows for the push G's loss gives each, and the curves (losses, D(x) and
  D(G(z)), G's gradient strength, modes covered). Pause, one D step, one G step, reset; settings
  apply at once, also mid-run.
- Minimax against non-saturating: the same start trained under both G losses side by side, so the
  saturation of log(1 - D(G(z))) early on is seen (tiny arrows, flat gradient curve).
- Digits: a small DCGAN or MLP GAN trained live on the MNIST subset, its grid refreshed every
  second, with the same controls.

Frames are PNGs drawn with PIL and sent inline (data: URLs in gr.HTML), so streaming writes no file.
Runs are bounded per session (iterations, and seconds per Train press); the training events share a
concurrency limit, so the queue holds the rest.

    demo_owner:  with gr.Tab("Playground"): build_tab()
    standalone:  python -m ganzoo.demo_playground --port 7861
"""
from __future__ import annotations

import argparse
import base64
import functools
import inspect
import io
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no outbound connection, ever
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from . import playground as pg  # noqa: E402
from .data import DatasetError, load_dataset  # noqa: E402
from .images import make_grid  # noqa: E402

MAX_TOY_STEPS = 20_000        # iterations per 2-D run (then Reset)
MAX_DIGIT_STEPS = 6_000       # iterations per digits run
TRAIN_SECONDS = 90            # wall time of one Train press
FRAME_SECONDS = 0.15          # a 2-D frame (training and drawing) takes at most about this long: >= 5 frames/s
DIGIT_FRAME_SECONDS = 1.0     # the digit grid is redrawn about every second
TRAIN_CONCURRENCY = 2         # training streams computed at once (2 cores), over all sessions
STEP_CONCURRENCY = 4          # single steps, resets and settings changes
FIELD_PX = 360
GRID_SEED = 0                 # the digit grid always shows the same latents, so change is learning
LRS = [1e-5, 3e-5, 1e-4, 2e-4, 3e-4, 1e-3, 3e-3, 1e-2]
CUSTOM = "(custom)"
MNIST_ENV = "GANZOO_MNIST_DIR"

# GAN Lab's colours: green for real, purple for fake
REAL = (27, 120, 55)
FAKE = (118, 42, 131)
D_COLOUR, G_COLOUR = (31, 119, 180), (255, 127, 14)
GREY = (120, 120, 120)


class PlaygroundError(gr.Error):
    """Bad input or a run that cannot go on; Gradio shows the message to the visitor."""


# ---------------------------------------------------------------------------------------------
# Drawing (PIL + numpy: a 2-D frame takes a few milliseconds, matplotlib took ~100)


@functools.lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=256)
def _label(text: str, colour: tuple[int, int, int], size: int) -> Image.Image:
    """``text`` drawn once (RGBA): titles and legends repeat every frame, and drawing text costs
    more than the rest of a curve panel."""
    font = _font(size)
    text = text.replace(" ", "  ")          # Pillow's bundled font has 2-pixel spaces at this size
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("RGBA", (max(1, right), max(1, bottom)), (*colour, 0))
    ImageDraw.Draw(img).text((0, 0), text, fill=(*colour, 255), font=font)
    return img


def _text(img: Image.Image, xy: tuple[float, float], text: str, colour=(0, 0, 0), size: int = 10) -> int:
    """Put ``text`` at xy; returns its width in pixels."""
    label = _label(text, colour, size)
    img.paste(label, (int(xy[0]), int(xy[1])), label)
    return label.width


def to_html(image: Image.Image, alt: str, *, pixelated: bool = False) -> str:
    """An <img> holding the PNG inline."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    style = f"width:100%;max-width:{image.width}px;height:auto" + (";image-rendering:pixelated" if pixelated else "")
    return (f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}" alt="{alt}" '
            f'style="{style}">')


def _surface_colours(values: np.ndarray, probability: bool) -> np.ndarray:
    """D's output (H, W) -> RGB (H, W, 3): purple (fake) through white (0.5) to green (real), pale."""
    if probability:
        t = values
    else:                  # raw critic scores: centre on their median, scale by their spread
        spread = float(np.percentile(np.abs(values - np.median(values)), 95)) or 1.0
        t = 0.5 + 0.5 * np.tanh((values - np.median(values)) / spread)
    t = np.clip(t, 0, 1)[..., None]
    white = np.array([255.0, 255, 255])
    green, purple = np.array(REAL, float), np.array(FAKE, float)
    rgb = np.where(t >= 0.5, white + (green - white) * (2 * t - 1), white + (purple - white) * (1 - 2 * t))
    return (255 - 0.55 * (255 - rgb)).astype(np.uint8)       # pale, so the points stand out


def _dots(draw: ImageDraw.ImageDraw, pts: np.ndarray, colour, r: float = 1.6) -> None:
    for x, y in pts:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def field_image(game: pg.ToyGAN, size: int = FIELD_PX, *, title: str = "") -> Image.Image:
    """The plane as GAN Lab draws it: D's heat map, real points, G's samples and their pushes, and a
    title line with the step and the modes covered (counted now, and recorded in the history)."""
    e = game.target.extent
    probability = game.loss in pg.PROBABILITY_LOSSES
    surface = game.d_surface(48).numpy()
    img = Image.fromarray(_surface_colours(surface, probability)).resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(img)

    def px(points: torch.Tensor) -> np.ndarray:
        p = points.numpy()
        return np.stack([(p[:, 0] + e) / (2 * e) * size, (e - p[:, 1]) / (2 * e) * size], axis=1)

    real = px(game.target.sample(300, torch.Generator().manual_seed(1)))
    fake, push = game.g_gradients(300)
    fake_px = px(fake)
    _dots(draw, real, REAL)
    _dots(draw, fake_px, FAKE)
    # the same scale for every loss and step, so a saturated G's short arrows are seen as short:
    # a push of 0.1 is 5% of the plot; arrows are cut at 12%
    vec = push.numpy() * np.array([1, -1]) * (0.5 * size)
    length = np.linalg.norm(vec, axis=1, keepdims=True)
    vec = vec * np.minimum(1, 0.12 * size / np.maximum(length, 1e-12))
    for (x, y), (dx, dy) in zip(fake_px[:120], vec[:120]):
        draw.line((x, y, x + dx, y + dy), fill=(60, 60, 60), width=1)
    covered = game.record_modes()
    label = f"{title + '  ' if title else ''}step {game.step}  modes {covered}/{game.num_modes}"
    draw.rectangle((0, 0, size, 16), fill=(255, 255, 255))
    _text(img, (4, 2), label, size=11)
    return img


def _binned(xs: list[int], ys: list[float], width: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``width`` points: the mean of each run of consecutive records."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if len(x) <= width:
        return x, y
    edges = np.linspace(0, len(x), width + 1).astype(int)
    counts = np.diff(edges)
    return np.add.reduceat(x, edges[:-1]) / counts, np.add.reduceat(y, edges[:-1]) / counts


def _panel(img: Image.Image, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str,
           series: list[tuple[list, list, tuple, str]], *, x_max: int, y_range: tuple[float, float] | None = None,
           log: bool = False) -> None:
    """A line chart of ``series`` (xs, ys, colour, name) inside box (left, top, right, bottom)."""
    left, top, right, bottom = box
    legend_x = left + 8 + _text(img, (left, top), title)
    for xs, ys, colour, name in series:
        legend_x += 8 + _text(img, (legend_x, top), name, colour)
    plot = (left + 34, top + 14, right - 4, bottom - 4)
    draw.rectangle(plot, outline=(180, 180, 180))
    data = [(np.asarray(x, float), np.asarray(y, float)) for x, y, _, _ in series if len(x)]
    if not data:
        return
    values = np.concatenate([y for _, y in data])
    values = values[np.isfinite(values)]
    if log:
        values = np.log10(np.maximum(values, 1e-8))
    lo, hi = y_range or (float(values.min()), float(values.max()) if len(values) else 1.0)
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    tick = (lambda v: f"1e{round(v):d}") if log else (lambda v: f"{v:.3g}")
    _text(img, (left, plot[1]), tick(hi), GREY)
    _text(img, (left, plot[3] - 10), tick(lo), GREY)
    w, h = plot[2] - plot[0], plot[3] - plot[1]
    for xs, ys, colour, _ in series:
        if not len(xs):
            continue
        x, y = _binned(xs, ys, w)
        if log:
            y = np.log10(np.maximum(y, 1e-8))
        u = plot[0] + x / max(x_max, 1) * w
        v = plot[3] - (np.clip(y, lo, hi) - lo) / (hi - lo) * h
        points = list(zip(u.tolist(), v.tolist()))
        if len(points) == 1:
            draw.ellipse((points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2), fill=colour)
        else:
            draw.line(points, fill=colour, width=1)


def curves_image(games: list[tuple[str, pg._Game]], *, width: int = FIELD_PX, modes: bool = True) -> Image.Image:
    """Loss, D(x) / D(G(z)), G's gradient strength and (2-D) modes covered against iterations.
    ``games``: (name, game) pairs; with two, each curve is drawn for both (solid colours per game)."""
    panels = 4 if modes else 3
    height = 90 * panels
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x_max = max(max(g.step, 1) for _, g in games)
    two = len(games) > 1
    palette = [((31, 119, 180), (255, 127, 14)), ((214, 39, 40), (44, 160, 44))]
    losses, outputs, grads, covered = [], [], [], []
    for (name, g), (c1, c2) in zip(games, palette):
        h = g.history
        tag = f"{name} " if two else ""
        if two:          # one colour per game: its G loss and D(G(z)) are what differ
            losses.append((h.g_step, h.loss_g, c1, f"{tag}G"))
            outputs.append((h.d_step, h.d_fake, c1, f"{tag}D(G(z))"))
        else:
            losses += [(h.d_step, h.loss_d, D_COLOUR, "D"), (h.g_step, h.loss_g, G_COLOUR, "G")]
            outputs += [(h.d_step, h.d_real, REAL, "D(x)"), (h.d_step, h.d_fake, FAKE, "D(G(z))")]
        grads.append((h.g_step, h.g_grad, c1 if two else G_COLOUR, f"{tag}|push|"))
        if modes:
            covered.append((h.modes_step, h.modes, c1 if two else FAKE, tag.strip() or "modes"))
    probability = all(g.loss in pg.PROBABILITY_LOSSES for _, g in games)
    _panel(img, draw, (0, 0, width, 90), "loss", losses, x_max=x_max)
    _panel(img, draw, (0, 90, width, 180), "D's output", outputs, x_max=x_max, y_range=(0, 1) if probability else None)
    _panel(img, draw, (0, 180, width, 270), "G's push per sample (log scale)", grads, x_max=x_max, log=True)
    if modes:
        n = games[0][1].num_modes
        _panel(img, draw, (0, 270, width, 360), f"modes covered (of {n})", covered, x_max=x_max, y_range=(0, n))
    return img


# ---------------------------------------------------------------------------------------------
# Sessions


@dataclass
class Run:
    """One run: the game(s), what made them (a change there starts anew), a lock so that a step, a
    settings change and the training stream never touch the networks at once, and the Pause flag."""
    games: list
    key: tuple
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: bool = False

    @property
    def game(self):
        return self.games[0]


class Slot:
    """A visitor's place for a run (the value of a gr.State, one per browser session). Events change
    ``slot.run`` and never return the state, so a stream still running cannot put back a run that
    Reset has replaced. (A plain class: Gradio would try to serialise a dataclass.)"""

    def __init__(self) -> None:
        self.run: Run | None = None


def _check_int(value, lo: int, hi: int, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise PlaygroundError(f"{what} must be a whole number in {lo}..{hi}, got {value!r}")
    return value


def _floats(s: dict, names: tuple[str, ...]) -> None:
    for name in names:
        try:
            s[name] = float(s[name])
        except (TypeError, ValueError):
            raise PlaygroundError(f"{name} must be a number, got {s[name]!r}") from None


def _configure(games: list, settings: dict) -> None:
    """Apply settings to every game (a side-by-side pair keeps its own two losses)."""
    try:
        for g in games:
            g.configure(**{k: v for k, v in settings.items() if k != "loss" or len(games) == 1})
    except ValueError as e:
        raise PlaygroundError(str(e)) from None


def _replace(slot: Slot, run: Run) -> Run:
    """Put a new run in the slot; the old one's stream stops and shows nothing more."""
    if slot.run is not None:
        slot.run.stop = True
    slot.run = run
    return run


def _current(slot: Slot, key: tuple, settings: dict, make) -> Run:
    """The slot's run with the settings applied, or a new one (``make()``) when there is none or
    the key (target or family, and seed) changed."""
    run = slot.run
    if run is None or run.key != key:
        return _replace(slot, make())
    with run.lock:
        _configure(run.games, settings)
    return run


def _train_stream(slot: Slot, run: Run, speed, max_steps: int, frame_seconds: float, frame):
    """Train ``run``, yielding ``frame(run)`` every ``frame_seconds`` (drawing included) or after
    ``speed`` iterations, whichever comes first, until Pause, the run's step limit or TRAIN_SECONDS.
    A run that Reset replaced stops without another frame."""
    speed = _check_int(speed, 1, 500, "iterations per frame")
    run.stop = False
    started = time.monotonic()
    draw_seconds = 0.0
    while True:
        reason = None
        if slot.run is not run:
            return
        if run.stop:
            reason = "paused"
        elif run.game.step >= max_steps:
            reason = f"this run reached its limit of {max_steps} iterations: press Reset to start another"
        elif time.monotonic() - started > TRAIN_SECONDS:
            reason = f"stopped after {TRAIN_SECONDS} s (one Train press trains at most that long): press Train to go on"
        if reason:
            with run.lock:
                *images, status = frame(run)
            yield *images, f"{status} · {reason}"
            return
        with run.lock:      # released before the yield: a stream waiting to send must not hold it
            budget = max(frame_seconds - draw_seconds, frame_seconds / 5)
            chunk_start = time.monotonic()
            for _ in range(min(speed, max_steps - run.game.step)):
                for g in run.games:
                    g.train(1)
                if time.monotonic() - chunk_start >= budget or run.stop:
                    break
            draw_start = time.monotonic()
            images = frame(run)
            draw_seconds = time.monotonic() - draw_start
        if slot.run is run:
            yield images


def _step(run: Run, which: str, max_steps: int, frame):
    with run.lock:
        if run.game.step >= max_steps:
            raise PlaygroundError(f"this run reached its limit of {max_steps} iterations: press Reset")
        if which == "d":
            run.game.step_d()
        elif which == "g":
            run.game.step_g()
        else:
            raise PlaygroundError(f"unknown step {which!r}; valid: 'd', 'g'")
        return frame(run)


def pause(slot: Slot):
    """Stop the slot's stream after the iteration in progress; returns the readout."""
    run = slot.run
    if run is None:
        return gr.skip()
    run.stop = True
    with run.lock:
        return f"{status_line(run)} · paused"


def status_line(run: Run) -> str:
    """The run's readout, from its history: iterations, D updates, modes covered, D's outputs."""
    parts = []
    for g in run.games:
        h = g.history
        line = f"step **{g.step}** (D updates {g.d_updates})"
        if isinstance(g, pg.ToyGAN) and h.modes:
            line += f" · modes covered **{h.modes[-1]} / {g.num_modes}**"
        if h.d_real:
            line += f" · D(x) {h.d_real[-1]:.3f} · D(G(z)) {h.d_fake[-1]:.3f}"
        if len(run.games) > 1:
            line = f"{g.loss}: {line} · push {h.g_grad[-1] if h.g_grad else 0:.3g}"
        parts.append(line)
    return "<br>".join(parts)


# ---------------------------------------------------------------------------------------------
# 2-D


TOY_FIELDS = ("target", "seed", "latent_dim", "loss", "d_steps", "lr_d", "lr_g", "minibatch_std", "instance_noise",
              "label_smoothing")
LATENT_DIMS = (2, 16)


def toy_settings(values) -> tuple[tuple, dict]:
    """The settings widgets' values (in TOY_FIELDS order) -> (key: target, seed and latent size, which
    make a new run when changed; the ToyGAN settings, which apply mid-run)."""
    s = dict(zip(TOY_FIELDS, values))
    seed = _check_int(s.pop("seed"), 0, 2**31 - 1, "seed")
    target = s.pop("target")
    if target not in pg.TARGETS:
        raise PlaygroundError(f"unknown target {target!r}; valid: {', '.join(pg.TARGETS)}")
    latent_dim = s.pop("latent_dim")
    if latent_dim not in LATENT_DIMS:
        raise PlaygroundError(f"latent size must be one of {', '.join(map(str, LATENT_DIMS))}, got {latent_dim!r}")
    s["d_steps"] = _check_int(s["d_steps"], 1, 10, "D steps per iteration")
    s["minibatch_std"] = bool(s["minibatch_std"])
    _floats(s, ("lr_d", "lr_g", "instance_noise", "label_smoothing"))
    return (target, seed, latent_dim), s


def _toy_maker(key: tuple, settings: dict, pair: bool):
    def make() -> Run:
        target, seed, latent_dim = key
        losses = ["minimax", "nonsaturating"] if pair else [settings["loss"]]
        try:
            games = [pg.ToyGAN(target, **{**settings, "loss": loss}, seed=seed, latent_dim=latent_dim)
                     for loss in losses]
        except ValueError as e:
            raise PlaygroundError(str(e)) from None
        for g in games:
            g.record_modes()
        return Run(games, key)
    return make


def _toy_run(slot: Slot, values, pair: bool = False) -> Run:
    key, settings = toy_settings(values)
    return _current(slot, key, settings, _toy_maker(key, settings, pair))


def _toy_frame(run: Run) -> tuple[str, str, str]:
    if len(run.games) == 1:
        field_html = to_html(field_image(run.game), "the plane: D's heat map, real points, G's samples and pushes")
        curves = curves_image([("", run.game)])
    else:
        images = [field_image(g, FIELD_PX, title=g.loss) for g in run.games]
        both = Image.new("RGB", (2 * FIELD_PX + 8, FIELD_PX), (255, 255, 255))
        both.paste(images[0], (0, 0))
        both.paste(images[1], (FIELD_PX + 8, 0))
        field_html = to_html(both, "minimax (left) and non-saturating (right) from the same start")
        curves = curves_image([(g.loss, g) for g in run.games], width=2 * FIELD_PX + 8)
    return field_html, to_html(curves, "training curves"), status_line(run)


def toy_train(slot: Slot, speed, *values):
    """Train streams frames: (field HTML, curves HTML, status markdown)."""
    yield from _train_stream(slot, _toy_run(slot, values), speed, MAX_TOY_STEPS, FRAME_SECONDS, _toy_frame)


def toy_step(which: str, slot: Slot, *values):
    """One D or one G update ("d" / "g") of the slot's run; returns the frame."""
    return _step(_toy_run(slot, values), which, MAX_TOY_STEPS, _toy_frame)


def toy_reset(slot: Slot, *values):
    """A new run from the current settings (the same seed is the same start)."""
    key, settings = toy_settings(values)
    return _toy_frame(_replace(slot, _toy_maker(key, settings, pair=False)()))


def toy_configure(slot: Slot, *values) -> None:
    """Apply the settings to the run in progress (a new target, seed or latent size waits for Train, a
    step or Reset)."""
    key, settings = toy_settings(values)
    run = slot.run
    if run is not None and run.key == key:
        with run.lock:
            _configure(run.games, settings)


def compare_train(slot: Slot, speed, *values):
    """Minimax and non-saturating from the same start, side by side; streams like toy_train."""
    run = _toy_run(slot, values, pair=True)
    yield from _train_stream(slot, run, speed, MAX_TOY_STEPS, FRAME_SECONDS, _toy_frame)


def compare_reset(slot: Slot, *values):
    key, settings = toy_settings(values)
    return _toy_frame(_replace(slot, _toy_maker(key, settings, pair=True)()))


def _toy_defaults() -> dict:
    return {k: p.default for k, p in inspect.signature(pg.ToyGAN).parameters.items()}


def apply_preset(name: str):
    """The settings widgets' values for a preset (in TOY_FIELDS order, without the seed)."""
    if name == CUSTOM:
        return [gr.skip()] * (len(TOY_FIELDS) - 1)
    if name not in pg.PRESETS:
        raise PlaygroundError(f"unknown preset {name!r}; valid: {', '.join(pg.PRESETS)}")
    p = {**_toy_defaults(), **pg.PRESETS[name]}
    return [p[f] for f in TOY_FIELDS if f != "seed"]


# ---------------------------------------------------------------------------------------------
# Digits


def mnist_folder() -> Path | None:
    """Where the MNIST subset is: $GANZOO_MNIST_DIR, else ../shared/data/mnist-10k beside a checkout.
    The pip package does not ship it."""
    env = os.environ.get(MNIST_ENV)
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-10k"
    if (folder / "train-images-idx3-ubyte.gz").is_file() or (folder / "train-images-idx3-ubyte").is_file():
        return folder
    return None


@functools.lru_cache(maxsize=1)
def _digits(folder: str) -> torch.Tensor:
    """The data set's images, uint8 (N, 1, 28, 28), read once and shared read-only by every session."""
    return load_dataset(folder, channels=1, image_size=28).images


def digits_available() -> tuple[bool, str]:
    """(whether the digits part can run, a line saying where the digits come from or how to get them)."""
    folder = mnist_folder()
    if folder is None:
        return False, (f"**The digits part needs MNIST, which the ganzoo package does not ship.** Set "
                       f"`{MNIST_ENV}` to a folder holding `train-images-idx3-ubyte.gz` (in a checkout: "
                       f"`../shared/data/mnist-10k`) and restart the demo.")
    try:
        n = len(_digits(str(folder)))
    except DatasetError as e:
        return False, f"**The digits part cannot read its data:** {e}"
    return True, f"Training data: {n:,} digits from `{folder}`."


DIGIT_FIELDS = ("family", "seed", "loss", "d_steps", "lr_d", "lr_g", "instance_noise", "label_smoothing")


def digit_settings(values) -> tuple[tuple, dict]:
    """The digits widgets' values (in DIGIT_FIELDS order) -> (key: family and seed, DigitGAN settings)."""
    s = dict(zip(DIGIT_FIELDS, values))
    seed = _check_int(s.pop("seed"), 0, 2**31 - 1, "seed")
    family = s.pop("family")
    if family not in pg.DIGIT_FAMILIES:
        raise PlaygroundError(f"unknown family {family!r}; valid: {', '.join(pg.DIGIT_FAMILIES)}")
    s["d_steps"] = _check_int(s["d_steps"], 1, 10, "D steps per iteration")
    _floats(s, ("lr_d", "lr_g", "instance_noise", "label_smoothing"))
    return (family, seed), s


def _digit_maker(key: tuple, settings: dict):
    def make() -> Run:
        ok, message = digits_available()
        if not ok:
            raise PlaygroundError(message.replace("**", ""))
        family, seed = key
        try:
            return Run([pg.DigitGAN(_digits(str(mnist_folder())), family=family, seed=seed, **settings)], key)
        except ValueError as e:
            raise PlaygroundError(str(e)) from None
    return make


def _digit_run(slot: Slot, values) -> Run:
    key, settings = digit_settings(values)
    return _current(slot, key, settings, _digit_maker(key, settings))


def _digit_frame(run: Run) -> tuple[str, str, str]:
    grid = make_grid(run.game.sample(64, seed=GRID_SEED), nrow=8, scale=3)
    return (to_html(grid, "64 samples of G, always from the same latents", pixelated=True),
            to_html(curves_image([("", run.game)], modes=False), "training curves"), status_line(run))


def digits_train(slot: Slot, speed, *values):
    """Train on digits, the grid redrawn about every second: (grid HTML, curves HTML, status)."""
    yield from _train_stream(slot, _digit_run(slot, values), speed, MAX_DIGIT_STEPS, DIGIT_FRAME_SECONDS,
                             _digit_frame)


def digits_step(which: str, slot: Slot, *values):
    return _step(_digit_run(slot, values), which, MAX_DIGIT_STEPS, _digit_frame)


def digits_reset(slot: Slot, *values):
    key, settings = digit_settings(values)
    return _digit_frame(_replace(slot, _digit_maker(key, settings)()))


def digits_configure(slot: Slot, *values) -> None:
    key, settings = digit_settings(values)
    run = slot.run
    if run is not None and run.key == key:
        with run.lock:
            _configure(run.games, settings)


# ---------------------------------------------------------------------------------------------
# The tab


def _lr(label: str, value: float) -> gr.Dropdown:
    return gr.Dropdown(choices=[(f"{v:g}", v) for v in LRS], value=value, label=label)


def _buttons(prefix: str, single_steps: bool = True, interactive: bool = True) -> dict[str, gr.Button]:
    button = functools.partial(gr.Button, interactive=interactive)
    with gr.Row():
        b = {"train": button("Train", variant="primary", elem_id=f"{prefix}-train"),
             "pause": button("Pause", elem_id=f"{prefix}-pause")}
        if single_steps:
            b["d"] = button("One D step", elem_id=f"{prefix}-d-step")
            b["g"] = button("One G step", elem_id=f"{prefix}-g-step")
        b["reset"] = button("Reset", elem_id=f"{prefix}-reset")
    return b


def _wire(buttons: dict, state: gr.State, settings: list, speed, outputs: list, *, train, step, reset,
          configure, api: str) -> None:
    """Connect one part's controls. Training streams share one concurrency limit over all sessions."""
    inputs = [state, *settings]
    buttons["train"].click(train, [state, speed, *settings], outputs, api_name=f"{api}_train",
                           concurrency_id="playground_train", concurrency_limit=TRAIN_CONCURRENCY)
    # Pause only sets a flag (no queue, no limit): the stream ends itself with a "paused" frame
    buttons["pause"].click(pause, state, outputs[-1], api_name=f"{api}_pause", concurrency_limit=None, queue=False)
    quick = dict(concurrency_id="playground_quick", concurrency_limit=STEP_CONCURRENCY)
    if step is not None:
        buttons["d"].click(functools.partial(step, "d"), inputs, outputs, api_name=f"{api}_d_step", **quick)
        buttons["g"].click(functools.partial(step, "g"), inputs, outputs, api_name=f"{api}_g_step", **quick)
    buttons["reset"].click(reset, inputs, outputs, api_name=f"{api}_reset", **quick)
    for widget in settings:
        widget.change(configure, inputs, None, api_name=f"{api}_configure", api_visibility="private", **quick)


def build_tab() -> None:
    """The Playground tab's content; call inside ``with gr.Tab("Playground"):`` of an open gr.Blocks."""
    defaults = {**_toy_defaults(), **pg.PRESETS["ring: mode collapse"]}
    gr.Markdown(
        "Watch a GAN learn, as in the lectures: the minimax game of Algorithm 1 with k discriminator "
        "steps, the saturating log(1 - D(G(z))) against the non-saturating -log D(G(z)), mode collapse "
        "and its remedies. The heat map is D's verdict (green: real, purple: fake); the purple points "
        "are G's samples, each with an arrow for the push G's loss gives it.")
    with gr.Tab("2-D"):
        with gr.Row():
            preset = gr.Dropdown([CUSTOM, *pg.PRESETS], value="ring: mode collapse", label="Preset",
                                 elem_id="playground-preset")
            target = gr.Dropdown(list(pg.TARGETS), value=defaults["target"], label="Target")
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            latent = gr.Radio(list(LATENT_DIMS), value=defaults["latent_dim"], label="Latent size (z)")
            speed = gr.Slider(1, 200, value=20, step=1, label="Iterations per frame", elem_id="playground-speed")
        with gr.Row():
            loss = gr.Radio(list(pg.LOSSES), value=defaults["loss"], label="Loss")
            d_steps = gr.Slider(1, 10, value=defaults["d_steps"], step=1, label="D steps per iteration (k)")
            lr_d, lr_g = _lr("D learning rate", defaults["lr_d"]), _lr("G learning rate", defaults["lr_g"])
        with gr.Row():
            mbstd = gr.Checkbox(value=defaults["minibatch_std"], label="Minibatch std in D")
            noise = gr.Slider(0, 1, value=defaults["instance_noise"], step=0.05, label="Instance noise (std)")
            smooth = gr.Slider(0, 0.5, value=defaults["label_smoothing"], step=0.05,
                               label="One-sided label smoothing")
        buttons = _buttons("playground")
        status = gr.Markdown("Press **Train**.", elem_id="playground-status")
        with gr.Row():
            field_view = gr.HTML(elem_id="playground-field", min_height=FIELD_PX)
            curves_view = gr.HTML(elem_id="playground-curves", min_height=FIELD_PX)
        run = gr.State(Slot())
        settings = [target, seed, latent, loss, d_steps, lr_d, lr_g, mbstd, noise, smooth]
        _wire(buttons, run, settings, speed, [field_view, curves_view, status], train=toy_train, step=toy_step,
              reset=toy_reset, configure=toy_configure, api="playground")
        preset.change(apply_preset, preset, [target, latent, loss, d_steps, lr_d, lr_g, mbstd, noise, smooth],
                      api_name="playground_preset", api_visibility="private")

    with gr.Tab("Minimax vs non-saturating"):
        gr.Markdown(
            "The same start (the 2-D tab's target, seed and settings) trained twice: left, G descends "
            "log(1 - D(G(z))) exactly as in Algorithm 1; right, G descends -log D(G(z)). Early on D "
            "rejects G's samples easily, and the minimax loss then hardly moves them (short arrows, a "
            "push curve orders of magnitude lower). The preset *ring: saturation (D wins early, k = 5)* "
            "shows it best.")
        pair_buttons = _buttons("playground-compare", single_steps=False)
        pair_status = gr.Markdown("Press **Train**.", elem_id="playground-compare-status")
        pair_field = gr.HTML(elem_id="playground-compare-field", min_height=FIELD_PX)
        pair_curves = gr.HTML(elem_id="playground-compare-curves")
        pair = gr.State(Slot())
        _wire(pair_buttons, pair, settings, speed, [pair_field, pair_curves, pair_status], train=compare_train,
              step=None, reset=compare_reset, configure=toy_configure, api="playground_compare")

    with gr.Tab("Digits"):
        ok, where = digits_available()
        gr.Markdown("A small GAN from the zoo trained live on handwritten digits, on this machine's CPU. "
                    "The grid shows G's samples from the same 64 latents, redrawn every second. " + where,
                    elem_id="playground-digits-data")
        with gr.Row():
            family = gr.Radio(list(pg.DIGIT_FAMILIES), value="dcgan", label="Model")
            dseed = gr.Number(value=0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            dloss = gr.Radio(list(pg.LOSSES), value="nonsaturating", label="Loss")
            dk = gr.Slider(1, 10, value=1, step=1, label="D steps per iteration (k)")
        with gr.Row():
            dlr_d, dlr_g = _lr("D learning rate", 2e-4), _lr("G learning rate", 2e-4)
            dnoise = gr.Slider(0, 1, value=0, step=0.05, label="Instance noise (std)")
            dsmooth = gr.Slider(0, 0.5, value=0, step=0.05, label="One-sided label smoothing")
            dspeed = gr.Slider(1, 200, value=200, step=1, label="Iterations per frame (at most one second's)")
        dbuttons = _buttons("playground-digits", interactive=ok)
        dstatus = gr.Markdown("Press **Train**." if ok else "", elem_id="playground-digits-status")
        with gr.Row():
            grid_view = gr.HTML(elem_id="playground-digits-grid")
            dcurves = gr.HTML(elem_id="playground-digits-curves")
        drun = gr.State(Slot())
        dsettings = [family, dseed, dloss, dk, dlr_d, dlr_g, dnoise, dsmooth]
        _wire(dbuttons, drun, dsettings, dspeed, [grid_view, dcurves, dstatus], train=digits_train,
              step=digits_step, reset=digits_reset, configure=digits_configure, api="playground_digits")


def standalone() -> gr.Blocks:
    """A page with only the Playground tab (for tests and ``python -m ganzoo.demo_playground``)."""
    with gr.Blocks(title="ganzoo playground") as demo:
        with gr.Tab("Playground"):
            build_tab()
    return demo


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="ganzoo's GAN playground alone")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7861)
    args = p.parse_args(argv)
    standalone().queue(max_size=16).launch(server_name=args.host, server_port=args.port, share=False,
                                           ssr_mode=False, show_error=True)


if __name__ == "__main__":
    main()
