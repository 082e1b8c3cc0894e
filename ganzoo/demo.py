"""The Gradio demo: sampling, class-conditioning, latent interpolation and arithmetic for every
zoo model. It holds no model code: everything goes through ganzoo's public API.

    python app.py                     # or: ganzoo demo --host 127.0.0.1 --port 7860

Each event has an api_name (/sample, /conditional, /interpolate, /arithmetic, /about), so
gradio_client can call the demo from code. Inputs are bounded on the server.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import random
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no outbound connection, ever
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import ganzoo  # noqa: E402

MAX_IMAGES = 256          # images per request
MAX_PER_CLASS = 16        # images per class in the conditional grid
MAX_STEPS = 64            # interpolation frames
MAX_SEED = 2**31 - 1
SCALE = 3                 # pixel enlargement of 28x28 digits on screen
QUEUE_SIZE = 64
CONCURRENCY = 2           # requests computed at once (2 cores)


class DemoError(gr.Error):
    """Bad input; Gradio shows the message to the user and returns it to API clients."""


@functools.lru_cache(maxsize=None)
def get_model(name: str) -> ganzoo.ImageGenerator:
    """Each model is loaded once per process and reused by every request."""
    if name not in ganzoo.list_models():
        raise DemoError(f"unknown model {name!r}; choose one of {', '.join(ganzoo.list_models())}")
    return ganzoo.load(name)


def conditional_models() -> list[str]:
    return [n for n in ganzoo.list_models() if ganzoo.get_entry(n).num_classes]


def model_label(name: str) -> str:
    e = ganzoo.get_entry(name)
    fid = e.metrics.get("fid")
    return f"{name} ({e.family}, {e.dataset}{f', FID {fid:.2f}' if fid is not None else ''})"


def check_int(value, lo: int, hi: int, what: str) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise DemoError(f"{what} must be a whole number in {lo}..{hi}, got {value!r}") from None
    if v != value and not (isinstance(value, float) and value.is_integer()):
        raise DemoError(f"{what} must be a whole number in {lo}..{hi}, got {value!r}")
    if not lo <= v <= hi:
        raise DemoError(f"{what} must be in {lo}..{hi}, got {v}")
    return v


def class_index(g: ganzoo.ImageGenerator, value) -> int | None:
    """A class given by name or number; None for unconditional models."""
    if g.num_classes is None:
        return None
    names = list(g.class_names or range(g.num_classes))
    if value in (None, ""):
        raise DemoError(f"{g.name} is conditional: pick a class ({', '.join(map(str, names))})")
    if str(value) in map(str, names):
        return [str(n) for n in names].index(str(value))
    raise DemoError(f"unknown class {value!r} for {g.name}; valid: {', '.join(map(str, names))}")


def class_choices(model: str):
    """The class picker's choices for a model (hidden for unconditional ones)."""
    g = get_model(model)
    if g.num_classes is None:
        return gr.Dropdown(choices=[], value=None, visible=False)
    names = class_names(model)
    return gr.Dropdown(choices=names, value=names[0], visible=True)


def class_names(model: str) -> list[str]:
    g = get_model(model)
    return [str(n) for n in (g.class_names or range(g.num_classes or 0))]


def random_seed() -> int:
    return random.randint(0, MAX_SEED)


def sample(model: str, n: float, seed: float) -> Image.Image:
    """A grid of n samples of ``model`` from ``seed``."""
    g = get_model(model)
    n, seed = check_int(n, 1, MAX_IMAGES, "number of images"), check_int(seed, 0, MAX_SEED, "seed")
    return ganzoo.make_grid(g.sample(n, seed=seed), nrow=math.ceil(math.sqrt(n)), scale=SCALE)


def conditional(model: str, classes: list[str] | None, per_class: float, seed: float) -> Image.Image:
    """A grid with one row per chosen class (all classes when none is chosen)."""
    g = get_model(model)
    if g.num_classes is None:
        raise DemoError(f"{model} is unconditional; choose a conditional model: {', '.join(conditional_models())}")
    per_class, seed = check_int(per_class, 1, MAX_PER_CLASS, "images per class"), check_int(seed, 0, MAX_SEED, "seed")
    rows = [class_index(g, c) for c in classes] if classes else list(range(g.num_classes))
    labels = torch.tensor(rows).repeat_interleave(per_class)
    return ganzoo.make_grid(g.sample(len(labels), labels=labels, seed=seed), nrow=per_class, scale=SCALE)


def interpolate(model: str, seed_a: float, seed_b: float, steps: float, method: str, cls=None,
                workdir: Path | None = None) -> tuple[str, Image.Image]:
    """(path of an animated GIF, a strip of the frames) walking from seed_a's latent to seed_b's."""
    g = get_model(model)
    seed_a, seed_b = check_int(seed_a, 0, MAX_SEED, "start seed"), check_int(seed_b, 0, MAX_SEED, "end seed")
    steps = check_int(steps, 2, MAX_STEPS, "steps")
    if method not in ("slerp", "lerp"):
        raise DemoError(f"unknown method {method!r}; valid: slerp, lerp")
    label = class_index(g, cls)
    frames = ganzoo.interpolate(g, start=seed_a, end=seed_b, steps=steps, method=method, labels=label)
    # Named by its inputs: the same request reuses the same file, so the folder stays bounded.
    key = hashlib.sha256(json.dumps([model, seed_a, seed_b, steps, method, label]).encode()).hexdigest()[:16]
    path = (workdir or _workdir()) / f"walk-{key}.gif"
    if not path.exists():
        ganzoo.save_gif(frames, path.with_suffix(".tmp.gif"), fps=12, scale=SCALE + 1, boomerang=True)
        os.replace(path.with_suffix(".tmp.gif"), path)
    return str(path), ganzoo.make_grid(frames, nrow=steps, scale=2)


def arithmetic(model: str, seed_a: float, seed_b: float, seed_c: float, cls=None) -> Image.Image:
    """The strip G(a), G(b), G(c), G(a - b + c): vector arithmetic in z space."""
    g = get_model(model)
    seeds = [check_int(s, 0, MAX_SEED, f"seed {n}") for s, n in zip((seed_a, seed_b, seed_c), "abc")]
    z = torch.cat([g.latents(1, seed=s) for s in seeds])                       # (3, latent_dim)
    z = torch.cat([z, (z[0] - z[1] + z[2])[None]])                             # (4, latent_dim)
    label = class_index(g, cls)
    labels = None if label is None else torch.full((4,), label)
    return ganzoo.make_grid(g.generate(z, labels), nrow=4, scale=SCALE + 1, padding=4)


def about(model: str) -> str:
    """Markdown: what the model is, its figures, and where its weights come from."""
    e = ganzoo.get_entry(model)
    m = e.metrics
    card = (e.folder / "README.md").read_text() if (e.folder / "README.md").is_file() else ""
    body = card.split("---", 2)[2] if card.startswith("---") else card
    body = "\n".join(line for line in body.splitlines() if not line.startswith("!["))   # images are not served
    figures = ", ".join(f"{k} {m[k]}" for k in ("fid", "fid_floor", "precision", "recall", "class_accuracy")
                        if k in m)
    return (f"**{model}**: {e.description}. Data: {e.dataset}. Licence: {e.license}.\n\n"
            f"Weights: bundled with ganzoo (`{e.weights_file.name}`, sha256 `{e.sha256[:16]}...`); "
            f"Hub: `hf-hub:{e.hub_repo}@{e.revision}`.\n\nMeasured: {figures}.\n\n---\n{body}")


def _workdir() -> Path:
    d = Path(os.environ.get("GRADIO_TEMP_DIR", tempfile.gettempdir())) / "ganzoo-demo"
    d.mkdir(parents=True, exist_ok=True)
    return d


def build_demo() -> gr.Blocks:
    names = ganzoo.list_models()
    choices = [(model_label(n), n) for n in names]
    cond = conditional_models()
    default = "dcgan-mnist" if "dcgan-mnist" in names else names[0]
    image = functools.partial(gr.Image, type="pil", format="png", buttons=["download"], show_label=True)

    def seed_box(label: str, value: int):
        return gr.Number(value=value, label=label, precision=0, minimum=0, maximum=MAX_SEED)

    with gr.Blocks(title="ganzoo: a GAN model zoo") as demo:
        gr.Markdown("# ganzoo\nPretrained GANs from the zoo, running on this machine's CPU. "
                    "The same seed always gives the same images.")
        model = gr.Dropdown(choices=choices, value=default, label="Model")
        with gr.Tab("Sample"):
            with gr.Row():
                n = gr.Slider(1, MAX_IMAGES, value=64, step=1, label="Number of images")
                seed = seed_box("Seed", 0)
                dice = gr.Button("Random seed", scale=0)
            go = gr.Button("Generate", variant="primary")
            grid = image(label="Samples (download as PNG)", elem_id="sample-grid")
            dice.click(random_seed, outputs=seed, api_visibility="private")
            go.click(sample, [model, n, seed], grid, api_name="sample")
        with gr.Tab("Class-conditioning"):
            first = "cgan-mnist" if "cgan-mnist" in cond else (cond[0] if cond else None)
            cmodel = gr.Dropdown(choices=[(model_label(c), c) for c in cond], value=first, label="Conditional model")
            # The choices follow the chosen model; custom values are allowed so API clients may name
            # another model's classes (Gradio checks API input against the initial choices only);
            # conditional() validates every class against the model.
            classes = gr.Dropdown(choices=class_names(first) if first else [], multiselect=True,
                                  allow_custom_value=True, label="Classes (none = all)", elem_id="conditional-classes")
            with gr.Row():
                per_class = gr.Slider(1, MAX_PER_CLASS, value=10, step=1, label="Images per class")
                cseed = seed_box("Seed", 0)
            cgo = gr.Button("Generate rows", variant="primary")
            cgrid = image(label="One row per class", elem_id="conditional-grid")
            cmodel.change(lambda m: gr.Dropdown(choices=class_names(m), value=[]), cmodel, classes,
                          api_visibility="private")
            cgo.click(conditional, [cmodel, classes, per_class, cseed], cgrid, api_name="conditional")
        with gr.Tab("Latent interpolation"):
            with gr.Row():
                sa, sb = seed_box("Start seed", 0), seed_box("End seed", 1)
                rnd = gr.Button("Random seeds", scale=0)
            with gr.Row():
                steps = gr.Slider(2, MAX_STEPS, value=16, step=1, label="Steps")
                method = gr.Radio(["slerp", "lerp"], value="slerp", label="Method")
                icls = gr.Dropdown(choices=[], label="Class", visible=False, allow_custom_value=True)
            igo = gr.Button("Interpolate", variant="primary")
            gif = gr.Image(type="filepath", format="gif", label="Animation (download as GIF)", buttons=["download"],
                           elem_id="walk-gif")
            strip = image(label="Frames", elem_id="walk-strip")
            rnd.click(lambda: (random_seed(), random_seed()), outputs=[sa, sb], api_visibility="private")
            igo.click(interpolate, [model, sa, sb, steps, method, icls], [gif, strip], api_name="interpolate")
        with gr.Tab("Latent arithmetic"):
            gr.Markdown("G(a), G(b), G(c) and **G(a - b + c)**: the vector arithmetic of Radford et al. in z space.")
            with gr.Row():
                a, b, c = seed_box("a", 0), seed_box("b", 1), seed_box("c", 2)
                acls = gr.Dropdown(choices=[], label="Class", visible=False, allow_custom_value=True)
            ago = gr.Button("Compute", variant="primary")
            arith = image(label="a | b | c | a - b + c", elem_id="arithmetic")
            ago.click(arithmetic, [model, a, b, c, acls], arith, api_name="arithmetic")
        with gr.Tab("About the model"):
            info = gr.Markdown(about(default), elem_id="about")
            gr.Button("Refresh", scale=0).click(about, model, info, api_name="about")
        model.change(class_choices, model, icls, api_visibility="private")
        model.change(class_choices, model, acls, api_visibility="private")
        model.change(about, model, info, api_visibility="private")
        demo.load(sample, [model, n, seed], grid, api_visibility="private")   # a grid as soon as the page opens
    return demo


def launch(host: str = "127.0.0.1", port: int = 7860, **kwargs) -> None:
    for name in ganzoo.list_models():      # load every model before the first request
        get_model(name)
    build_demo().queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY).launch(
        server_name=host, server_port=port, share=False, ssr_mode=False, show_error=True, **kwargs)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="ganzoo's Gradio demo")
    p.add_argument("--host", default=os.environ.get("GANZOO_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("GANZOO_PORT", 7860)))
    args = p.parse_args(argv)
    launch(args.host, args.port)
