"""The demo's "Your drawing" tab: draw (or upload) a digit, find it in the chosen model with
``ganzoo.project``, see which class a conditional model finds, and walk from the drawing to a
seed's sample or to a second drawing with ``ganzoo.interpolate``.

    with gr.Tab("Your drawing"):
        build_tab(model)                  # model: the page's model dropdown

(ganzoo.demo adds the tab through its ``optional_tabs``.) Events: /project (model, drawing,
upload) -> (PNG: the drawing as the model sees it | the reconstruction, the class found) and
/project_walk (model, drawing, upload, walk to, seed, second drawing, steps, method) -> (GIF, PNG
of the frames). Pictures go through the demo's cache, named by what they show.
``python -m ganzoo.demo_projection`` serves the tab alone.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # no outbound connection, ever
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.projection import Projection, load_image  # noqa: E402

# ganzoo.demo imports this module to build its page, so its helpers are imported inside the
# functions that use them: either module may then be imported first.

TO_SEED, TO_DRAWING = "a seed's sample", "a second drawing"
SHOWN = 8                   # pixel enlargement of the 28x28 target and reconstruction


def _error(message: str) -> gr.Error:
    from .demo import DemoError
    return DemoError(message)


def drawing_image(drawing, upload=None, what: str = "drawing") -> Image.Image:
    """The picture to project: the upload when there is one, else the sketchpad's composite.

    ``drawing``: a sketchpad value (a dict whose 'composite' is a PIL image, an array or a file
    path) or None; ``upload``: a PIL image, an array, a file path or None."""
    picture = upload
    if picture is None:
        picture = drawing.get("composite") if isinstance(drawing, dict) else drawing
    if isinstance(picture, dict):                      # an API client's file reference
        picture = picture.get("path")
    if picture is None:
        raise _error(f"nothing to project: draw on the {what} sketchpad or upload an image")
    try:
        return load_image(picture)
    except ValueError as e:
        raise _error(str(e)) from None


def _digest(picture: Image.Image) -> str:
    return hashlib.sha256(repr((picture.mode, picture.size)).encode() + np.asarray(picture).tobytes()).hexdigest()


def _project(g: ganzoo.ImageGenerator, picture: Image.Image) -> Projection:
    try:
        return ganzoo.project(g, [picture])
    except ValueError as e:                            # an empty picture: say so on the page
        raise _error(str(e)) from None


def project_drawing(model: str, drawing, upload=None, *, cache=None) -> tuple[str, str]:
    """(path of a PNG: the drawing as the model sees it | its reconstruction, a line on what was found)."""
    from .demo import default_cache, get_model, weights_digest
    g = get_model(model)
    picture = drawing_image(drawing, upload)
    result = _project(g, picture)
    key = ["projection", ganzoo.__version__, weights_digest(model), _digest(picture), SHOWN]
    path = (cache or default_cache()).get(key, ".png", lambda p: ganzoo.make_grid(
        torch.cat([result.targets, result.images]), nrow=2, scale=SHOWN, padding=2).save(p, format="PNG"))
    text = f"Pixel error (MSE) {float(result.mse[0]):.4f}."
    if result.labels is not None:
        text = f"**Class found: {g.label_names[int(result.labels[0])]}**, the class that draws it best. " + text
    return path, text


def walk(model: str, drawing, upload, to: str, seed, second, steps, method: str, *, cache=None) -> tuple[str, str]:
    """(an animated GIF, a PNG grid of its frames): a latent walk from the drawing's projection to
    ``seed``'s latent (conditional models: drawn in the drawing's class) or to the second
    drawing's projection (the class switches half way)."""
    from .demo import MAX_SEED, MAX_STEPS, check_int, default_cache, get_model, walk_files, weights_digest
    g = get_model(model)
    steps = check_int(steps, 2, MAX_STEPS, "steps")
    if method not in ganzoo.sampling.METHODS:
        raise _error(f"unknown method {method!r}; valid: {', '.join(ganzoo.sampling.METHODS)}")
    if to not in (TO_SEED, TO_DRAWING):
        raise _error(f"unknown walk end {to!r}; valid: {TO_SEED!r}, {TO_DRAWING!r}")
    picture = drawing_image(drawing, upload)
    second_picture = drawing_image(second, what="second") if to == TO_DRAWING else None
    seed = check_int(seed, 0, MAX_SEED, "seed") if to == TO_SEED else None

    @functools.cache                                   # only when a picture is not in the cache yet
    def frames() -> torch.Tensor:
        start = _project(g, picture)
        labels = None if start.labels is None else int(start.labels[0])
        if second_picture is None:
            return ganzoo.interpolate(g, start=start.latents[0], end=seed, steps=steps, method=method, labels=labels)
        finish = _project(g, second_picture)
        if finish.labels is not None:
            labels = [labels] * (steps - steps // 2) + [int(finish.labels[0])] * (steps // 2)
        return ganzoo.interpolate(g, start=start.latents[0], end=finish.latents[0], steps=steps, method=method,
                                  labels=labels)

    end = seed if second_picture is None else _digest(second_picture)
    key = [ganzoo.__version__, weights_digest(model), _digest(picture), end, steps, method]
    return walk_files(cache or default_cache(), "drawing-walk", key, frames, steps)


def build_tab(model_picker: gr.Dropdown) -> None:
    """The tab's components and events, inside an open ``gr.Blocks`` and ``gr.Tab``;
    ``model_picker`` is the page's model dropdown (its value a zoo name)."""
    from .demo import GIF_SCALE, MAX_SEED, MAX_STEPS

    def sketchpad(label: str, elem_id: str):
        return gr.Sketchpad(label=label, type="pil", image_mode="RGBA", format="png", canvas_size=(280, 280),
                            brush=gr.Brush(default_size=16, colors=["#000000"], color_mode="fixed"),
                            layers=False, elem_id=elem_id)

    gr.Markdown("Draw a digit (any size, anywhere on the pad) or upload a picture, and **Project** finds the "
                "closest image the model can draw. Conditional models also say which class explains it best.")
    with gr.Row():
        drawing = sketchpad("Your drawing", "drawing")
        upload = gr.Image(type="pil", sources=["upload", "clipboard"], label="... or upload a picture (used instead)",
                          elem_id="drawing-upload")
        with gr.Column():
            caption = gr.Markdown("**As the model sees it | its reconstruction**", elem_id="projection-caption")
            pair = gr.Image(type="filepath", buttons=["download"], show_label=False, elem_id="projection")
            found = gr.Markdown(elem_id="projection-class")
    go = gr.Button("Project", variant="primary")
    go.click(project_drawing, [model_picker, drawing, upload], [pair, found], api_name="project",
             show_progress_on=[caption])

    gr.Markdown("### Walk from your drawing\nA latent walk from the drawing's latent to a seed's sample, or to the "
                "latent of a second drawing.")
    with gr.Row():
        second = sketchpad("Second drawing (to walk to 'a second drawing')", "second-drawing")
        with gr.Column():
            to = gr.Radio([TO_SEED, TO_DRAWING], value=TO_SEED, label="Walk to")
            seed = gr.Number(value=0, label=f"Seed (0..{MAX_SEED})", precision=None)
            steps = gr.Number(value=16, label=f"Steps (2..{MAX_STEPS})", precision=None)
            method = gr.Radio(list(ganzoo.sampling.METHODS), value="slerp", label="Method")
            wgo = gr.Button("Walk", variant="primary")
    walk_caption = gr.Markdown("**The walk** (animation there and back; frames left to right, top to bottom)",
                               elem_id="drawing-walk-caption")
    with gr.Row():
        gif = gr.Image(type="filepath", format="gif", buttons=["download"], show_label=False,
                       elem_id="drawing-walk-gif", height=28 * GIF_SCALE + 20, scale=1)
        strip = gr.Image(type="filepath", buttons=["download"], show_label=False, elem_id="drawing-walk-strip", scale=3)
    wgo.click(walk, [model_picker, drawing, upload, to, seed, second, steps, method], [gif, strip],
              api_name="project_walk", show_progress_on=[walk_caption])


def standalone(default: str = "cgan-mnist") -> gr.Blocks:
    """A page with only the model dropdown and this tab (for tests and ``python -m``)."""
    from .demo import model_label
    names = ganzoo.list_models()
    with gr.Blocks(title="ganzoo: your drawing") as page:
        model = gr.Dropdown(choices=[(model_label(n), n) for n in names], value=default, label="Model", elem_id="model")
        with gr.Tab("Your drawing"):
            build_tab(model)
    return page


def main(argv: list[str] | None = None) -> None:
    from .demo import CONCURRENCY, MAX_UPLOAD, QUEUE_SIZE
    p = argparse.ArgumentParser(description="ganzoo's 'Your drawing' tab alone")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7861)
    args = p.parse_args(argv)
    # one thread per request: CONCURRENCY requests share the cores, and two threads each would
    # oversubscribe them (a projection is many small steps, where OpenMP then waits more than it works)
    torch.set_num_threads(1)
    standalone().queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY).launch(
        server_name=args.host, server_port=args.port, share=False, ssr_mode=False, show_error=True,
        max_file_size=MAX_UPLOAD)


if __name__ == "__main__":
    main()
