"""The Gradio demo: sampling, class-conditioning, latent interpolation and arithmetic for every
zoo model. It holds no model code: everything goes through ganzoo's public API.

    python app.py                     # or: ganzoo demo --host 127.0.0.1 --port 7860

Each event has an api_name (/sample, /conditional, /interpolate, /arithmetic, /about), so
gradio_client can call the demo from code. Every input is checked on the server, and a value out
of range is an error that names it and the range, never silently changed.

Every picture is a file written once, under a name made of what it shows, into a folder of
bounded size inside Gradio's cache (so Gradio serves it as it is, without copying it): two
visitors asking for the same picture get the same finished file, and nobody's file is rewritten
while it is being downloaded.
"""
from __future__ import annotations

import argparse
import errno
import functools
import hashlib
import importlib.util
import json
import math
import os
import random
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no outbound connection, ever
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import ganzoo  # noqa: E402
from ganzoo.errors import GanzooError  # noqa: E402


class DemoDependencyError(GanzooError, ModuleNotFoundError):
    """gradio is missing: the demo is an optional extra."""


try:
    import gradio as gr
except ModuleNotFoundError as e:
    if e.name != "gradio":
        raise
    raise DemoDependencyError("the demo needs gradio: pip install 'ganzoo-models[demo]'", name="gradio") from None

import torch  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

MAX_IMAGES = 256          # images per request (the README's promise)
MAX_PER_CLASS = 16        # images per class in the conditional grid
MAX_ROWS = 16             # classes (rows) in the conditional grid: 16 x 16 = MAX_IMAGES
MAX_STEPS = 64            # interpolation frames
MAX_SEEDS = 8             # seeds averaged per operand of the latent arithmetic
MAX_SEED = 2**31 - 1
SCALE = 3                 # pixel enlargement of 28x28 digits in grids
GIF_SCALE = 10            # the animation: 280 px
FRAMES_PER_ROW = 8
QUEUE_SIZE = 64
CONCURRENCY = 2           # requests computed at once (2 cores)
MAX_UPLOAD = "5mb"        # the largest file a visitor may upload
CACHE_FILES = 1000        # the picture cache holds at most this many files ...
CACHE_BYTES = 200 * 2**20  # ... and this many bytes; the least recently used go first
GRADIO_CLEANUP = (600, 3600)   # every 10 min, Gradio deletes its own files (uploads) older than 1 h
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
# Latent arithmetic defaults: three samples per concept, chosen so that every zoo model draws a
# clean result (checked by tests/test_demo.py::test_arithmetic_defaults_are_clean).
ARITHMETIC_DEFAULTS = ("0, 1, 2", "3, 4, 5", "6, 7, 8")


class DemoError(gr.Error):
    """Bad input; Gradio shows the message to the user and returns it to API clients."""


class PortInUseError(GanzooError):
    """The demo cannot listen where it was asked to."""


# ---- models ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def get_model(name: str) -> ganzoo.ImageGenerator:
    """Each model is loaded once per process (from the bundle, or the Hub with GANZOO_SOURCE=hub)."""
    if name not in ganzoo.list_models():
        raise DemoError(f"unknown model {name!r}; choose one of {', '.join(ganzoo.list_models())}")
    return ganzoo.load(name)


@functools.lru_cache(maxsize=None)
def weights_digest(name: str) -> str:
    """sha256 of the weights a model was loaded from: part of every cached picture's name."""
    return hashlib.sha256(Path(get_model(name).weights_file).read_bytes()).hexdigest()


def conditional_models() -> list[str]:
    return [n for n in ganzoo.list_models() if ganzoo.get_entry(n).num_classes]


def model_label(name: str) -> str:
    e = ganzoo.get_entry(name)
    fid = e.metrics.get("fid")
    return f"{name} ({e.family}, {e.dataset}{f', FID {fid:.2f}' if fid is not None else ''})"


# ---- checking input -----------------------------------------------------------------------------
def check_int(value, lo: int, hi: int, what: str) -> int:
    """A whole number in lo..hi (an int or an integral float, as gr.Number sends); else a DemoError."""
    if not ((isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, float) and value.is_integer())):
        raise DemoError(f"{what} must be a whole number in {lo}..{hi}, got {value!r}")
    if not lo <= int(value) <= hi:
        raise DemoError(f"{what} must be in {lo}..{hi}, got {int(value)}")
    return int(value)


def label_of(g: ganzoo.ImageGenerator, value) -> int | None:
    """The class index of a picker value (a name or number) for conditional models; None when none is picked
    for an unconditional one. The parsing is the library's (``label_index``), as in the CLI."""
    if value in (None, ""):
        if g.num_classes is None:
            return None
        raise DemoError(f"{g.name} is conditional: pick a class ({', '.join(g.label_names)})")
    try:
        return g.label_index(value)
    except ValueError as e:
        raise DemoError(str(e)) from None


def parse_seeds(text, what: str) -> list[int]:
    """'0, 1, 2' (or one int) -> [0, 1, 2]: 1..MAX_SEEDS seeds in 0..MAX_SEED."""
    parts = [text] if isinstance(text, (int, float)) else str(text or "").replace(",", " ").split()
    if not 1 <= len(parts) <= MAX_SEEDS:
        raise DemoError(f"{what}: give 1 to {MAX_SEEDS} seeds separated by commas, got {text!r}")
    seeds = []
    for p in parts:
        try:
            p = int(p) if isinstance(p, str) else p
        except ValueError:
            raise DemoError(f"{what}: {p!r} is not a seed; seeds are whole numbers in 0..{MAX_SEED}") from None
        seeds.append(check_int(p, 0, MAX_SEED, f"{what}: seed"))
    return seeds


def random_seed() -> int:
    return random.randint(0, MAX_SEED)


# ---- the picture cache ------------------------------------------------------------------------
class PictureCache:
    """Files named by what they show, each written once and never rewritten, in a folder of
    at most ``max_files`` files and ``max_bytes`` bytes (the least recently used are deleted)."""

    def __init__(self, folder: Path, *, max_files: int = CACHE_FILES, max_bytes: int = CACHE_BYTES) -> None:
        self.folder, self.max_files, self.max_bytes = Path(folder), max_files, max_bytes
        self.folder.mkdir(parents=True, exist_ok=True)
        self._trim_lock = threading.Lock()

    def get(self, key: list, suffix: str, write: Callable[[Path], None]) -> str:
        """The path of the file for ``key``, made by ``write(path)`` unless it exists already."""
        name = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32] + suffix
        path = self.folder / name
        try:
            os.utime(path)                  # a hit: it becomes the most recently used
            return str(path)
        except FileNotFoundError:
            pass
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".part-", suffix=suffix)
        os.close(fd)
        try:
            write(Path(tmp))
            try:
                os.link(tmp, path)          # atomic, and refuses to replace a file another request made
            except FileExistsError:
                pass
            except OSError:                 # a file system without hard links: rename, if still absent
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self.trim()
        return str(path)

    def files(self) -> list[tuple[str, os.stat_result]]:
        out = []
        for entry in os.scandir(self.folder):
            if not entry.name.startswith("."):
                try:
                    out.append((entry.path, entry.stat()))
                except FileNotFoundError:
                    continue
        return out

    def size(self) -> tuple[int, int]:
        """(files, bytes) now in the cache."""
        entries = self.files()
        return len(entries), sum(s.st_size for _, s in entries)

    def trim(self) -> None:
        with self._trim_lock:
            entries = sorted(self.files(), key=lambda e: e[1].st_mtime)   # oldest use first
            total = sum(s.st_size for _, s in entries)
            while entries and (len(entries) > self.max_files or total > self.max_bytes):
                path, st = entries.pop(0)
                Path(path).unlink(missing_ok=True)
                total -= st.st_size


@functools.lru_cache(maxsize=None)
def default_cache() -> PictureCache:
    """The cache inside Gradio's upload folder (GRADIO_TEMP_DIR), where Gradio serves files without copying."""
    return PictureCache(Path(gr.utils.get_upload_folder()) / "ganzoo-demo")


# ---- the events -------------------------------------------------------------------------------
def sample(model: str, n: float, seed: float, *, cache: PictureCache | None = None) -> str:
    """The path of a PNG grid of n samples of ``model`` from ``seed``."""
    g = get_model(model)
    n, seed = check_int(n, 1, MAX_IMAGES, "number of images"), check_int(seed, 0, MAX_SEED, "seed")
    key = ["sample", ganzoo.__version__, weights_digest(model), n, seed, SCALE]
    return (cache or default_cache()).get(key, ".png", lambda path: ganzoo.make_grid(
        g.sample(n, seed=seed), nrow=math.ceil(math.sqrt(n)), scale=SCALE).save(path, format="PNG"))


def conditional(model: str, classes: list[str] | None, per_class: float, seed: float, *,
                cache: PictureCache | None = None) -> str:
    """The path of a PNG grid with one row per chosen class (all classes when none is chosen)."""
    g = get_model(model)
    if g.num_classes is None:
        raise DemoError(f"{model} is unconditional; pick a conditional model in the Model menu: "
                        f"{', '.join(conditional_models())}")
    per_class, seed = check_int(per_class, 1, MAX_PER_CLASS, "images per class"), check_int(seed, 0, MAX_SEED, "seed")
    if classes and len(classes) > MAX_ROWS:
        raise DemoError(f"at most {MAX_ROWS} classes (rows) per grid, got {len(classes)}")
    rows = [label_of(g, c) for c in classes] if classes else list(range(g.num_classes))
    key = ["conditional", ganzoo.__version__, weights_digest(model), rows, per_class, seed, SCALE]

    def write(path: Path) -> None:
        labels = torch.tensor(rows).repeat_interleave(per_class)
        images = g.sample(len(labels), labels=labels, seed=seed)
        ganzoo.make_grid(images, nrow=per_class, scale=SCALE).save(path, format="PNG")
    return (cache or default_cache()).get(key, ".png", write)


def interpolate(model: str, seed_a: float, seed_b: float, steps: float, method: str, cls=None, *,
                cache: PictureCache | None = None) -> tuple[str, str]:
    """(an animated GIF, a PNG grid of the frames, FRAMES_PER_ROW a row) walking from seed_a's latent to seed_b's."""
    g = get_model(model)
    seed_a, seed_b = check_int(seed_a, 0, MAX_SEED, "start seed"), check_int(seed_b, 0, MAX_SEED, "end seed")
    steps = check_int(steps, 2, MAX_STEPS, "steps")
    if method not in ganzoo.sampling.METHODS:
        raise DemoError(f"unknown method {method!r}; valid: {', '.join(ganzoo.sampling.METHODS)}")
    label = label_of(g, cls)
    key = [ganzoo.__version__, weights_digest(model), seed_a, seed_b, steps, method, label]
    frames = functools.cache(lambda: ganzoo.interpolate(g, start=seed_a, end=seed_b, steps=steps, method=method,
                                                        labels=label))
    return walk_files(cache or default_cache(), "walk", key, frames, steps)


def walk_files(cache: PictureCache, kind: str, key: list, frames, steps: int) -> tuple[str, str]:
    """(GIF, PNG grid of the frames, FRAMES_PER_ROW a row) of a walk, from the cache or drawn once by
    ``frames()`` (called only for a file the cache lacks)."""
    gif = cache.get([kind, *key, GIF_SCALE], ".gif",
                    lambda path: ganzoo.save_gif(frames(), path, fps=12, scale=GIF_SCALE, boomerang=True))
    grid = cache.get([f"{kind}-frames", *key, SCALE], ".png", lambda path: ganzoo.make_grid(
        frames(), nrow=min(steps, FRAMES_PER_ROW), scale=SCALE).save(path, format="PNG"))
    return gif, grid


def arithmetic_latents(g: ganzoo.ImageGenerator, operands: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Radford et al.'s vector arithmetic: the mean latent of each operand's seeds, and mean(a) - mean(b) + mean(c).

    Returns (each seed's latent (S, D), the three means then the result (4, D)). A mean of k
    Gaussian latents is shorter than a sample (norm sqrt(D / k)) and a - b + c longer, and the
    generator draws noise far off the sphere of radius sqrt(D) where its latents live, so the
    means and the result are put back on it.
    """
    seeds = [s for op in operands for s in op]
    z = torch.cat([g.latents(1, seed=s) for s in seeds])                         # (S, D)
    means = torch.stack([torch.cat([g.latents(1, seed=s) for s in op]).mean(0) for op in operands])   # (3, D)
    combo = torch.cat([means, (means[0] - means[1] + means[2])[None]])           # (4, D)
    return z, combo * (math.sqrt(g.latent_dim) / combo.norm(dim=1, keepdim=True))


def arithmetic(model: str, seeds_a, seeds_b, seeds_c, cls=None, *, cache: PictureCache | None = None) -> str:
    """The path of a PNG: each operand's samples and their mean, then G(mean a - mean b + mean c)."""
    g = get_model(model)
    operands = [parse_seeds(s, f"operand {n}") for s, n in zip((seeds_a, seeds_b, seeds_c), "abc")]
    label = label_of(g, cls)
    key = ["arithmetic", ganzoo.__version__, weights_digest(model), operands, label, SCALE]

    def write(path: Path) -> None:
        z, combo = arithmetic_latents(g, operands)
        y = None if label is None else torch.full((len(z),), label)
        singles = g.generate(z, y)
        combos = g.generate(combo, None if label is None else torch.full((4,), label))
        arithmetic_figure(operands, singles, combos).save(path, format="PNG")
    return (cache or default_cache()).get(key, ".png", write)


def arithmetic_figure(operands: list[list[int]], singles: torch.Tensor, combos: torch.Tensor) -> Image.Image:
    """Rows a, b, c: each seed's image, '=' and the image of their mean; under the means, the result."""
    cell, pad, text_w, eq_w = 28 * SCALE, 6, 130, 34
    means_x = text_w + max(map(len, operands)) * (cell + pad) + eq_w
    fig = Image.new("L", (means_x + cell + pad, 4 * (cell + 2 * pad)), 255)
    draw = ImageDraw.Draw(fig)
    font = ImageFont.load_default(size=22)
    tiles = iter(singles)
    for row, op in enumerate([*operands, None]):
        top = pad + row * (cell + 2 * pad)
        mid = top + cell // 2
        if op is None:
            draw.text((8, mid), "a - b + c", font=font, fill=0, anchor="lm")
            draw.text((means_x - eq_w + 8, mid), "=", font=font, fill=0, anchor="lm")
        else:
            draw.text((8, mid), f"{'abc'[row]}: mean of", font=font, fill=0, anchor="lm")
            for i in range(len(op)):
                fig.paste(ganzoo.make_grid(next(tiles)[None], padding=0, scale=SCALE), (text_w + i * (cell + pad), top))
            draw.text((means_x - eq_w + 8, mid), "=", font=font, fill=0, anchor="lm")
        fig.paste(ganzoo.make_grid(combos[row][None], padding=0, scale=SCALE), (means_x, top))
    return fig


def about(model: str) -> str:
    """Markdown: what the model is, its figures, where its weights come from, and its card's text."""
    e = ganzoo.get_entry(model)
    m = e.metrics
    card = (e.folder / "README.md").read_text() if (e.folder / "README.md").is_file() else ""
    body = card.split("---", 2)[2] if card.startswith("---") else card
    body = "\n".join(line for line in body.splitlines() if not line.startswith("!["))   # shown as images above
    figures = ", ".join(f"{k} {m[k]}" for k in ("fid", "fid_floor", "precision", "recall", "class_accuracy")
                        if k in m)
    return (f"**{model}**: {e.description}. Data: {e.dataset}. Licence: {e.license}.\n\n"
            f"Weights: bundled with ganzoo (`{e.weights_file.name}`, sha256 `{e.sha256[:16]}...`); "
            f"Hub: `hf-hub:{e.hub_repo}@{e.revision}`.\n\nMeasured: {figures}.\n\n---\n{body}")


CARD_IMAGES = ("samples.png", "loss_curve.png")


def card_images(model: str) -> list[str | None]:
    """The card folder's pictures (samples, loss curve) of a zoo model; None where one is missing."""
    folder = ganzoo.get_entry(model).folder
    return [str(folder / n) if (folder / n).is_file() else None for n in CARD_IMAGES]


def all_card_images() -> list[str]:
    """Every zoo card's pictures: the only files outside the cache that the server may send."""
    return [p for n in ganzoo.list_models() for p in card_images(n) if p]


# ---- the page ---------------------------------------------------------------------------------
def class_picker_state(model: str) -> dict:
    """A single-class picker's state for a model: its classes, the first chosen; hidden for unconditional models."""
    names = get_model(model).label_names
    return {"choices": names, "value": names[0] if names else None, "visible": bool(names)}


def class_choices(model: str):
    return gr.Dropdown(**class_picker_state(model))


def unconditional_note(model: str) -> str:
    """What the Class-conditioning tab says for an unconditional model ("" for a conditional one)."""
    if get_model(model).num_classes is not None:
        return ""
    return (f"**{model} is unconditional**: it cannot draw a chosen class. Pick a conditional model "
            f"({', '.join(conditional_models())}) in the Model menu above.")


def conditional_controls(model: str):
    """The Class-conditioning tab for the chosen model: (note, controls, class picker)."""
    note = unconditional_note(model)
    return (gr.Markdown(note, visible=bool(note)), gr.Column(visible=not note),
            gr.Dropdown(choices=get_model(model).label_names, value=[], multiselect=True))


def optional_tabs() -> list[tuple[str, Callable]]:
    """Tabs other modules contribute, when present: (title, build function taking the model picker)."""
    tabs = []
    if importlib.util.find_spec("ganzoo.demo_playground"):
        from ganzoo import demo_playground
        tabs.append(("Playground", lambda model: demo_playground.build_tab()))
    if importlib.util.find_spec("ganzoo.demo_projection"):
        from ganzoo import demo_projection
        tabs.append(("Your drawing", demo_projection.build_tab))
    return tabs


def build_demo() -> gr.Blocks:
    names = ganzoo.list_models()
    choices = [(model_label(n), n) for n in names]
    default = "dcgan-mnist" if "dcgan-mnist" in names else names[0]
    # Progress and errors show on the caption above each picture, so that after an error the
    # previous picture stays in place (on the picture itself, Gradio would replace it by an "Error" badge).
    picture = functools.partial(gr.Image, type="filepath", buttons=["download"], show_label=False)

    def seed_box(label: str, value: int):
        return gr.Number(value=value, label=f"{label} (0..{MAX_SEED})", precision=None)

    def class_picker(model_name: str):
        # custom values: the API may name another model's classes; label_of checks them
        return gr.Dropdown(label="Class", allow_custom_value=True, **class_picker_state(model_name))

    with gr.Blocks(title="ganzoo: a GAN model zoo") as demo:
        gr.Markdown("# ganzoo\nPretrained GANs from the zoo, running on this machine's CPU. "
                    "The same seed always gives the same images.")
        model = gr.Dropdown(choices=choices, value=default, label="Model", elem_id="model")
        with gr.Tab("Sample"):
            with gr.Row():
                n = gr.Number(value=64, label=f"Number of images (1..{MAX_IMAGES})", precision=None, elem_id="n")
                seed = seed_box("Seed", 0)
                dice = gr.Button("Random seed", scale=0)
            go = gr.Button("Generate", variant="primary")
            grid_caption = gr.Markdown("**Samples** (download with the button on the picture)",
                                       elem_id="sample-caption")
            grid = picture(elem_id="sample-grid")
            dice.click(random_seed, outputs=seed, api_visibility="private")
            go.click(sample, [model, n, seed], grid, api_name="sample", show_progress_on=[grid_caption])
        with gr.Tab("Class-conditioning"):
            note = unconditional_note(default)
            uncond_note = gr.Markdown(note, visible=bool(note), elem_id="conditional-note")
            with gr.Column(visible=not note) as cond_controls:
                # Custom values are allowed so API clients may name any model's classes (Gradio checks
                # API input against the choices the page started with); conditional() checks each one.
                classes = gr.Dropdown(choices=get_model(default).label_names, multiselect=True, allow_custom_value=True,
                                      label="Classes (none = all)", elem_id="conditional-classes")
                with gr.Row():
                    per_class = gr.Number(value=10, label=f"Images per class (1..{MAX_PER_CLASS})", precision=None)
                    cseed = seed_box("Seed", 0)
                cgo = gr.Button("Generate rows", variant="primary")
                cgrid_caption = gr.Markdown("**One row per class**", elem_id="conditional-caption")
                cgrid = picture(elem_id="conditional-grid")
            cgo.click(conditional, [model, classes, per_class, cseed], cgrid, api_name="conditional",
                      show_progress_on=[cgrid_caption])
        with gr.Tab("Latent interpolation"):
            with gr.Row():
                sa, sb = seed_box("Start seed", 0), seed_box("End seed", 1)
                rnd = gr.Button("Random seeds", scale=0)
            with gr.Row():
                steps = gr.Number(value=16, label=f"Steps (2..{MAX_STEPS})", precision=None)
                method = gr.Radio(list(ganzoo.sampling.METHODS), value="slerp", label="Method")
                icls = class_picker(default)
            igo = gr.Button("Interpolate", variant="primary")
            walk_caption = gr.Markdown("**The walk** (animation there and back; frames left to right, top to "
                                       "bottom)", elem_id="walk-caption")
            with gr.Row():
                gif = picture(format="gif", elem_id="walk-gif", height=28 * GIF_SCALE + 20, scale=1)
                strip = picture(elem_id="walk-strip", scale=3)
            rnd.click(lambda: (random_seed(), random_seed()), outputs=[sa, sb], api_visibility="private")
            igo.click(interpolate, [model, sa, sb, steps, method, icls], [gif, strip], api_name="interpolate",
                      show_progress_on=[walk_caption])
        with gr.Tab("Latent arithmetic"):
            gr.Markdown(
                "Vector arithmetic in z space as Radford et al. (2015) did it: each operand is the **mean of the "
                "latents of a few samples** that share a trait (give their seeds), and the result is "
                "G(mean a - mean b + mean c). Means and result are rescaled to the norm sqrt(latent size) "
                "that the generator's latents have; without that, a - b + c lands where the generator "
                "draws noise.")
            with gr.Row():
                a, b, c = (gr.Textbox(value=v, label=f"{name}: seeds (1 to {MAX_SEEDS})")
                           for v, name in zip(ARITHMETIC_DEFAULTS, "abc"))
                acls = class_picker(default)
            ago = gr.Button("Compute", variant="primary")
            arith_caption = gr.Markdown("**a, b, c and a - b + c**", elem_id="arithmetic-caption")
            arith = picture(elem_id="arithmetic")
            ago.click(arithmetic, [model, a, b, c, acls], arith, api_name="arithmetic",
                      show_progress_on=[arith_caption])
        for title, build_tab in optional_tabs():
            with gr.Tab(title):
                build_tab(model)
        with gr.Tab("About the model"):
            gr.Markdown("**The model card's samples and training curves**")
            with gr.Row(equal_height=True):
                card_samples, card_loss = (gr.Image(value=p, type="filepath", label=label, show_label=False,
                                                    buttons=["download"], height=400, elem_id=f"about-{kind}", scale=k)
                                           for p, label, kind, k in zip(card_images(default), ("Samples", "Loss curves"),
                                                                        ("samples", "loss"), (2, 3)))
            info = gr.Markdown(about(default), elem_id="about")
        model.change(class_choices, model, icls, api_visibility="private")
        model.change(class_choices, model, acls, api_visibility="private")
        model.change(conditional_controls, model, [uncond_note, cond_controls, classes], api_visibility="private")
        model.change(about, model, info, api_name="about")
        model.change(card_images, model, [card_samples, card_loss], api_visibility="private")
        demo.load(sample, [model, n, seed], grid, api_visibility="private")   # a grid as soon as the page opens
    return demo


# ---- serving ----------------------------------------------------------------------------------
def server_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where to listen: the arguments, else GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, else 127.0.0.1:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    if port is None:
        env = os.environ.get("GRADIO_SERVER_PORT")
        try:
            port = int(env) if env else DEFAULT_PORT
        except ValueError:
            raise ValueError(f"GRADIO_SERVER_PORT must be a port number in 1..65535, got {env!r}") from None
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be in 1..65535, got {port!r}")
    return host, port


def check_can_listen(host: str, port: int) -> None:
    """Raise PortInUseError (one line saying what to do) unless host:port can be bound now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise PortInUseError(f"cannot listen on host {host!r}: it is not a name or address of this machine; "
                             "use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)    # as uvicorn binds
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUseError(f"port {port} on {host} is in use (another demo or server?); "
                                     "start the demo on another port with --port, e.g. --port "
                                     f"{port + 1 if port < 65535 else 7861}") from None
            raise PortInUseError(f"cannot listen on {host}:{port}: {e.strerror}; use --host 127.0.0.1 or "
                                 "another --port") from None


def launch(host: str | None = None, port: int | None = None, **kwargs) -> None:
    """Serve the demo (host/port default to GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, then 127.0.0.1:7860)."""
    host, port = server_address(host, port)
    check_can_listen(host, port)
    for name in ganzoo.list_models():      # load every model before the first request
        get_model(name)
    demo = build_demo()
    demo.delete_cache = GRADIO_CLEANUP
    try:
        demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY).launch(
            server_name=host, server_port=port, share=False, ssr_mode=False, show_error=True,
            max_file_size=MAX_UPLOAD, allowed_paths=all_card_images(), **kwargs)
    except OSError as e:        # another process took the port after check_can_listen
        raise PortInUseError(f"cannot listen on {host}:{port} ({e}); "
                             "start the demo on another port with --port") from None


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description="ganzoo's Gradio demo")
    p.add_argument("--host", help=f"address to listen on (default: $GRADIO_SERVER_NAME or {DEFAULT_HOST}; "
                                  "0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, help=f"port (default: $GRADIO_SERVER_PORT or {DEFAULT_PORT})")
    args = p.parse_args(argv)
    try:
        launch(args.host, args.port)
    except (GanzooError, ValueError) as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    return 0
