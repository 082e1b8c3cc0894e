"""The ``ganzoo`` command: list, info, sample, interpolate, eval, push, demo.

    ganzoo list
    ganzoo info dcgan-mnist
    ganzoo sample cgan-mnist -n 100 --label 7 --seed 1 -o sevens.png
    ganzoo interpolate dcgan-mnist --start 0 --end 1 --steps 24 --method slerp -o walk.gif
    ganzoo eval dcgan-mnist --data ../shared/data/mnist-10k
    ganzoo push model_cards/dcgan-mnist --repo-id OWNER/dcgan-mnist --dry-run

Bad input ends with exit code 2 and one line on stderr, no traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import GanzooError
from .registry import evaluator_names

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MAX_SCALE = 16          # pixel enlargement: a 28x28 digit at most 448x448


class CLIError(Exception):
    """Bad command-line input; the message is printed as is."""


def parse_labels(values: list[str] | None, g) -> list[int] | None:
    """--label values (ints or class names such as 'Sneaker'; repeated or comma-separated) as ints,
    by the library's one label parser (ImageGenerator.label_index)."""
    if not values:
        return None
    return [g.label_index(part) for v in values for part in v.split(",")]


def _load(args):
    import ganzoo
    return ganzoo.load(args.model, revision=args.revision, device=args.device, source=args.source)


def cmd_list(args) -> None:
    import ganzoo
    names = ganzoo.list_models(args.pattern)
    if not names:
        raise CLIError(f"no model matches {args.pattern!r}; all models: {', '.join(ganzoo.list_models())}")
    print(f"{'name':<16} {'family':<8} {'dataset':<10} {'classes':>7} {'FID':>7} {'floor':>6}")
    for n in names:
        e = ganzoo.get_entry(n)
        m = e.metrics
        print(f"{n:<16} {e.family:<8} {e.dataset:<10} {e.num_classes or '-':>7} {m.get('fid', '-'):>7} {m.get('fid_floor', '-'):>6}")


def cmd_info(args) -> None:
    import ganzoo
    e = ganzoo.get_entry(args.model)
    info = {"name": e.name, "description": e.description, "family": e.family, "dataset": e.dataset,
            "image_shape": list(e.image_shape), "num_classes": e.num_classes, "class_names": e.class_names,
            "config": e.config, "license": e.license,
            "weights": {"bundled": str(e.weights_file), "sha256": e.sha256,
                        "hub": f"hf-hub:{e.hub_repo}@{e.revision}"},
            "metrics": {k: v for k, v in e.metrics.items() if not isinstance(v, list)}}
    print(json.dumps(info, indent=2))


def _check_output(path: str, suffixes: tuple[str, ...]) -> Path:
    """An output path that can be written, checked before any work is done."""
    p = Path(path).expanduser()
    if p.suffix.lower() not in suffixes:
        raise CLIError(f"output {path!r} must end with one of {', '.join(suffixes)}")
    if p.is_dir():
        raise CLIError(f"output {path!r} is a folder; give a file name ending with one of {', '.join(suffixes)}")
    parent = p.parent
    if not parent.exists():
        above = next((a for a in parent.parents if a.exists()), None)
        if above is not None and not above.is_dir():
            raise CLIError(f"output {path!r} lies under {str(above)!r}, which is a file, not a folder")
        raise CLIError(f"output folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise CLIError(f"output {path!r} lies under {str(parent)!r}, which is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"output folder {str(parent)!r} is not writable")
    return p


def _check_range(value: int, lo: int, hi: int, what: str) -> int:
    if not lo <= value <= hi:
        raise CLIError(f"{what} must be in {lo}..{hi}, got {value}")
    return value


def cmd_sample(args) -> None:
    import ganzoo
    out = _check_output(args.output, IMAGE_SUFFIXES)
    g = _load(args)
    labels = parse_labels(args.label, g)
    if labels is not None and len(labels) > 1:
        labels = [labels[i % len(labels)] for i in range(args.n)]
    if args.nrow is not None:
        _check_range(args.nrow, 1, max(1, args.n), "--nrow (images per row)")
    images = g.sample(args.n, labels=labels, seed=args.seed)
    ganzoo.make_grid(images, nrow=args.nrow, scale=args.scale).save(out)
    print(f"wrote {args.n} samples of {args.model} to {out}")


def cmd_interpolate(args) -> None:
    import ganzoo
    out = _check_output(args.output, (".gif",) + IMAGE_SUFFIXES)
    g = _load(args)
    labels = parse_labels(args.label, g)
    frames = ganzoo.interpolate(g, start=args.start, end=args.end, steps=args.steps, method=args.method,
                                labels=labels[0] if labels and len(labels) == 1 else labels)
    if out.suffix.lower() == ".gif":
        ganzoo.save_gif(frames, out, fps=args.fps, scale=args.scale)
    else:
        ganzoo.make_grid(frames, nrow=args.steps, scale=args.scale).save(out)
    print(f"wrote {args.steps} frames ({args.method}) of {args.model} to {out}")


def cmd_eval(args) -> None:
    from .metrics import evaluate_model
    if not Path(args.data).is_dir():
        raise CLIError(f"data folder {args.data!r} does not exist; give the data set the model was trained on "
                       "(../shared/data/mnist-10k or /usr/share/datasets/fashion-mnist)")
    out = _check_output(args.output, (".json",)) if args.output else None
    res = evaluate_model(args.model, args.data, evaluator=args.evaluator, n=args.n, seed=args.seed, device=args.device,
                         progress=sys.stderr.isatty())
    if out is not None:
        out.write_text(json.dumps(res, indent=2) + "\n")
    keys = ("fid", "fid_floor", "kid", "kid_floor", "precision", "recall", "class_share_min", "class_share_max",
            "class_accuracy", "diversity", "copies")
    print(json.dumps({k: res[k] for k in ("model", "n", "seed", *keys) if k in res}, indent=2))


def cmd_push(args) -> None:
    from .publish import plan_upload, push
    plan = plan_upload(args.folder, args.repo_id, checkpoint=args.checkpoint, checkpoint_branch=args.branch)
    print(plan.describe())
    if args.dry_run:
        print("dry run: nothing was sent")
        return
    print(f"published: {push(plan, private=args.private)}")


def cmd_project(args) -> None:
    """Find each image in the model: a grid of target | reconstruction rows, and the search as a GIF."""
    import torch

    import ganzoo
    out = _check_output(args.output, IMAGE_SUFFIXES)
    gif = _check_output(args.gif, (".gif",)) if args.gif else None
    g = _load(args)
    labels = parse_labels(args.label, g)
    search = {k: v for k, v in (("steps", args.steps), ("restarts", args.restarts)) if v is not None}
    result = ganzoo.project(g, args.images, labels=labels[0] if labels and len(labels) == 1 else labels,
                            seed=args.seed, record_every=1 if gif else 0, **search)

    def pairs(images):                       # (2N, C, H, W): target, image, target, image, ...
        return torch.stack([result.targets, images], 1).flatten(0, 1)

    ganzoo.make_grid(pairs(result.images), nrow=2, scale=args.scale).save(out)
    if gif:
        ganzoo.save_gif([ganzoo.make_grid(pairs(f), nrow=2, scale=args.scale) for f in result.frames], gif, fps=args.fps)
    for i, path in enumerate(args.images):
        found = "" if result.labels is None else f", class {g.label_names[int(result.labels[i])]}"
        print(f"{path}: mse {float(result.mse[i]):.4f}{found}")
    print(f"wrote target | reconstruction pairs to {out}" + (f" and the search to {gif}" if gif else ""))


def cmd_demo(args) -> int:
    try:
        import gradio  # noqa: F401
    except ModuleNotFoundError:
        raise CLIError("the demo needs gradio, which is not installed: pip install 'ganzoo-models[demo]'") from None
    from .demo import main as demo_main
    return demo_main([a for a in (f"--host={args.host}" if args.host else None, f"--port={args.port}" if args.port else None)
                      if a], prog="ganzoo demo")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = argparse.ArgumentParser(prog="ganzoo", description="A model zoo of GANs: sample, interpolate, inspect.")
    p.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list the zoo's models")
    s.add_argument("pattern", nargs="?", help="glob filter, e.g. '*mnist*'")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("info", help="config, metrics and weight sources of a zoo model")
    s.add_argument("model")
    s.set_defaults(func=cmd_info)

    def model_args(s):
        s.add_argument("model", help="zoo name, hf-hub:owner/repo[@rev] or a model folder")
        s.add_argument("--revision", help="Hub revision (with hf-hub: or --source hub)")
        s.add_argument("--source", choices=["bundled", "hub"], help="where zoo names load from (default bundled)")
        s.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps ... (default cpu)")
        s.add_argument("--scale", type=int, default=2, help=f"pixel enlargement of the output, 1..{MAX_SCALE} (default 2)")
        s.add_argument("--label", action="append", help="class (int or name); repeat or comma-separate for several")

    s = sub.add_parser("sample", help="write a grid of samples")
    model_args(s)
    s.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--nrow", type=int, help="images per row (default: square)")
    s.add_argument("-o", "--output", default="samples.png")
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("interpolate", help="write a latent walk as a GIF (or a PNG strip)")
    model_args(s)
    s.add_argument("--start", type=int, default=0, help="seed of the first frame")
    s.add_argument("--end", type=int, default=1, help="seed of the last frame")
    s.add_argument("--steps", type=int, default=16)
    s.add_argument("--method", choices=["slerp", "lerp"], default="slerp")
    s.add_argument("--fps", type=float, default=12)
    s.add_argument("-o", "--output", default="walk.gif")
    s.set_defaults(func=cmd_interpolate, scale=4)

    s = sub.add_parser("eval", help="measure a model against real data (FID, KID, precision/recall, classes)")
    s.add_argument("model")
    s.add_argument("--data", required=True, help="data set folder (IDX files)")
    s.add_argument("--evaluator", choices=evaluator_names(), help="default: from the zoo entry")
    s.add_argument("-n", type=int, default=10_000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="cpu")
    s.add_argument("-o", "--output", help="also write the full results as JSON")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("push", help="publish a model folder to the Hugging Face Hub")
    s.add_argument("folder", help="e.g. model_cards/dcgan-mnist")
    s.add_argument("--repo-id", required=True, help="OWNER/NAME")
    s.add_argument("--dry-run", action="store_true", help="list what would be sent, send nothing")
    s.add_argument("--private", action="store_true")
    s.add_argument("--checkpoint", help="also push a training checkpoint to a branch, to resume elsewhere")
    s.add_argument("--branch", default="training", help="branch for --checkpoint (default training)")
    s.set_defaults(func=cmd_push)

    s = sub.add_parser("project", help="find your own images in a model: target | reconstruction pairs")
    model_args(s)
    s.add_argument("images", nargs="+", help="image files (any size; drawn dark on light or light on dark)")
    s.add_argument("-o", "--output", required=True, help="grid of target | reconstruction rows (.png, ...)")
    s.add_argument("--gif", help="also write the search, step by step, as an animated GIF")
    s.add_argument("--steps", type=int, help="optimisation steps (default: the library's)")
    s.add_argument("--restarts", type=int, help="starting latents per image (and class); default: the library's")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--fps", type=float, default=12)
    s.set_defaults(func=cmd_project, scale=4)

    s = sub.add_parser("demo", help="start the Gradio demo")
    s.add_argument("--host", help="address to listen on (default GRADIO_SERVER_NAME, else 127.0.0.1)")
    s.add_argument("--port", type=port_number, help="port (default GRADIO_SERVER_PORT, else 7860)")
    s.set_defaults(func=cmd_demo)
    return p


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1..65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number in 1..65535, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 1..65535, got {port}")
    return port


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "scale", None) is not None:
            _check_range(args.scale, 1, MAX_SCALE, "--scale")
        code = args.func(args)
    except (CLIError, GanzooError, ValueError, FloatingPointError) as e:
        print(f"ganzoo {args.command}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except OSError as e:        # writing the output failed after the checks (disk full, permissions changed)
        print(f"ganzoo {args.command}: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
