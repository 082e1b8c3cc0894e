#!/usr/bin/env python
"""Build model_cards/NAME/ (exactly what the model's Hub repo holds) from a training run and
its evaluation, so no card is typed by hand.

    python -m training.make_card runs/dcgan-mnist --eval training/results/dcgan-mnist.json

Writes config.json + model.safetensors (re-saved by ganzoo.save_pretrained, so the folder is
canonical), eval.json, samples.png, loss_curve.png, interpolation.gif and README.md (Hub YAML
metadata with a model-index that huggingface_hub.ModelCard parses), and prints the sha256
that ganzoo/registry.py must record.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
import shutil
import sys
from pathlib import Path


import yaml
from huggingface_hub import EvalResult, ModelCardData

import ganzoo
from ganzoo.hub import file_sha256
from training.config import TrainConfig, load_config

REPO = Path(__file__).resolve().parents[1]
# zoo data set -> (Hub dataset id, split, what the generator trained on)
DATASETS = {"mnist-10k": ("ylecun/mnist", "train", "MNIST (a 10,000-image subset of the train split)"),
            "fashion-mnist": ("zalando-datasets/fashion_mnist", "train", "Fashion-MNIST (the 60,000-image train split)")}
# the real images FID compares with, told truthfully: held out from the evaluator, and from the generator or not
REFERENCE = {
    "mnist-10k": "2,000 of the 10,000 training digits that the evaluator was not trained on. The generator was "
                 "trained on all 10,000, these included, so the figures compare its samples with digits it saw",
    "fashion-mnist": "the 10,000 images of Fashion-MNIST's test split, which neither the generator nor the "
                     "evaluator saw",
}
TASK = ("unconditional-image-generation", "Image generation")   # the Hub's task; class-conditioning is a tag

# (key in eval.json, metric type on the Hub, name, how to read it). The types say "classifier" so that
# none reads as Inception FID; only these go into the model-index, the ad-hoc figures stay in the table.
METRICS = [
    ("fid", "fid-classifier-features", "FID in a domain classifier's features (not Inception)", "lower is better"),
    ("kid", "kid-classifier-features", "KID in a domain classifier's features (not Inception)",
     "lower is better; unbiased, 20 subsets of 500"),
    ("precision", "precision-knn-classifier-features", "Precision (k=3 NN manifold)", "share of samples on the data manifold"),
    ("recall", "recall-knn-classifier-features", "Recall (k=3 NN manifold)", "share of data covered by samples"),
    ("class_share_min", None, "Smallest class share", "bar: >= 0.06"),
    ("class_share_max", None, "Largest class share", "bar: <= 0.14"),
    ("classes_covered", None, "Classes with >= 1% of samples", "of 10"),
    ("diversity", None, "Within-class diversity vs data", "1.0 = as varied as real images; ~0 = one prototype"),
    ("mean_confidence", None, "Classifier confidence", "mean top-class probability; low for ambiguous images"),
    ("copies", None, "Share of near-copies of training images", "0 = no memorisation found"),
    ("class_accuracy", "accuracy-requested-class", "Requested-class accuracy",
     "conditional models; bar: >= 0.99 (MNIST), 0.95 (Fashion)"),
]


def card_data(name: str, family: str, dataset: str, conditional: bool, results: dict, license: str = "mit") -> ModelCardData:
    """The card's Hub metadata: Hub dataset id, the Hub task, tags, and the model-index of the
    metrics that have a Hub metric type."""
    dataset_id, split, dataset_name = DATASETS[dataset]
    evals = [EvalResult(task_type=TASK[0], task_name=TASK[1], dataset_type=dataset_id, dataset_name=dataset_name,
                        dataset_split=split, metric_type=mtype, metric_name=mname, metric_value=results[key])
             for key, mtype, mname, _ in METRICS if mtype and key in results]
    return ModelCardData(
        model_name=name, library_name="ganzoo", license=license, datasets=[dataset_id],
        tags=["gan", family, "image-generation", "pytorch", "safetensors", dataset_id.split("/")[-1]]
        + (["class-conditional"] if conditional else []),
        pipeline_tag=TASK[0], eval_results=evals)


def refresh(folder: Path) -> Path:
    """Rewrites the Hub metadata of an existing card folder (README.md front matter) from its
    config.json and eval.json, for a card whose training run is gone; the body stays."""
    from huggingface_hub import ModelCard

    meta = json.loads((folder / "config.json").read_text())
    results = json.loads((folder / "eval.json").read_text())
    card = ModelCard.load(folder / "README.md")
    dataset = ganzoo.get_entry(folder.name).dataset if folder.name in ganzoo.list_models() else meta["dataset"]
    conditional = meta["config"].get("num_classes") is not None
    card.data = card_data(folder.name, meta["family"], dataset, conditional, results, card.data.license or "mit")
    card.save(folder / "README.md")
    return folder


COMMON_LIMITS = """- GANs can drop modes (mode collapse) or produce malformed images. The figures above measure
  both, but a few samples in every grid are not clean.
- FID here is computed in a small domain classifier's feature space: it is not comparable with
  Inception-based FID elsewhere.
- 28x28 greyscale only; outputs are float images in [0, 1]."""
LIMITATIONS = {
    "mnist-10k": """- Trained on a 10,000-image subset of MNIST (all 10 digits, about 1,000 each), not the full
  60,000: the model has seen fewer writing styles than a full-MNIST model.
- The judge is a small CNN trained on 8,000 of the same 10,000 digits (99.1% on the other 2,000).
""" + COMMON_LIMITS,
    "fashion-mnist": """- The judge is a small CNN trained on the 60,000 training images (93.1% on the 10,000 test
  images); it confuses shirts, T-shirts, pullovers and coats, which blurs class figures there.
""" + COMMON_LIMITS,
}
HELDOUT = {"mnist-10k": "2,000 held-out digits", "fashion-mnist": "the 10,000 test images"}


def shell_value(v) -> str:
    """A value as one shell word that load_config parses back: true, [1,5,-1]."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(shell_value(x) for x in v) + "]"
    return str(v)


def command_overrides(name: str, train_cfg: dict) -> str:
    """The key=value overrides this run used on top of its recipe (data and output paths aside)."""
    recipe = REPO / "training" / "configs" / f"{name}.yaml"
    if not recipe.exists():
        return ""
    return overrides_between(dataclasses.asdict(load_config(recipe)), train_cfg)


def overrides_between(base: dict, train_cfg: dict) -> str:
    """The key=value settings that turn ``base`` into ``train_cfg``, as shell words. A setting the
    trainer did not have when ``base`` ran counts as its default there."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    base = {**{k: v for k, v in defaults.items() if k in train_cfg}, **base}
    same = lambda a, b: (list(a) == list(b)) if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) else a == b
    diff = [" " + shlex.quote(f"{k}={shell_value(v)}") for k, v in train_cfg.items()
            if k not in ("data", "out", "model") and not same(base.get(k), v)]
    diff += [" " + shlex.quote(f"model.{k}={shell_value(v)}") for k, v in train_cfg.get("model", {}).items()
             if base["model"].get(k) != v]
    return "".join(diff)


def quality_notes(results: dict) -> str:
    """Limitations read off the measured figures, so the card cannot claim more than was measured."""
    notes = []
    if "fid" in results and "fid_floor" in results:
        ratio = results["fid"] / results["fid_floor"]
        above = [s for s, f in results.get("fid_by_seed", {}).items() if f > 2 * results["fid_floor"]]
        if ratio > 2:
            verdict = ("above the zoo's bar of 2x, so samples are still told apart from real images in the judge's "
                       "feature space.")
        elif above:
            verdict = (f"within the zoo's bar of 2x for this seed, but not for sampling seed(s) {', '.join(above)}, so "
                       "not reliably within it.")
        else:
            verdict = "within the zoo's bar of 2x" + (" on every sampling seed measured." if "fid_by_seed" in results else ".")
        notes.append(f"- FID is {ratio:.2f}x the real-vs-real floor ({results['fid']} vs {results['fid_floor']}): {verdict}")
    if "recall" in results and "recall_floor" in results and results["recall"] < 0.8 * results["recall_floor"]:
        notes.append(f"- Recall is {results['recall']} against {results['recall_floor']} for real images: the model "
                     "covers fewer of the data's variations than the data itself (partial mode dropping).")
    return "\n".join(notes)


def per_class_line(results: dict) -> str:
    """The per-class FIDs beside their floors, when the evaluation measured them."""
    if "fid_per_class" not in results:
        return ""
    pairs = ", ".join(f"{c}: {f} ({r})" for c, (f, r) in
                      enumerate(zip(results["fid_per_class"], results["fid_per_class_floor"])))
    return (f"\nFID per class (0..9; {results['fid_per_class_samples']} samples the judge puts in the class against as"
            f" many held-out images of it, the real-vs-real floor in brackets): {pairs}.\n")


def fid_sets_text(results: dict) -> str:
    """How many disjoint sets of samples the FID averages, and how far apart they were."""
    sets = results.get("fid_sets", 1)
    if sets == 1:
        return "one set"
    return f"{sets} disjoint sets (which differ by up to {results['fid_set_spread']:.2f})"


def seed_spread_line(results: dict) -> str:
    """FID of the same generator under other sampling seeds, when measured: the noise in the figure above."""
    if "fid_by_seed" not in results:
        return ""
    by_seed = results["fid_by_seed"]
    values = list(by_seed.values())
    return ("\nFID with other sampling seeds (the same weights, other latents): "
            + ", ".join(f"seed {s}: {f}" for s, f in by_seed.items())
            + f"; mean {sum(values) / len(values):.2f}. Differences of {max(values) - min(values):.2f} between"
            " evaluations come from sampling alone.\n")


def training_command(name: str, train_cfg: dict, earlier: list[tuple[dict, int]] = ()) -> str:
    """How the run was launched: one command, or the first one and each --resume that extended it.

    ``earlier`` holds, oldest first, the settings of the run before each extension and the step
    it had reached then (a stage may have been stopped before its last epoch, then resumed)."""
    if not earlier:
        return f"`python -m training.train training/configs/{name}.yaml{command_overrides(name, train_cfg)}`"
    first_cfg = earlier[0][0]
    first = f"python -m training.train training/configs/{name}.yaml{command_overrides(name, first_cfg)}"
    resumed = [cfg for cfg, _ in earlier[1:]] + [train_cfg]
    commands = [first] + [f"{first} --resume{overrides_between(first_cfg, cfg)}" for cfg in resumed]
    reached = [f" (to step {steps:,})" for _, steps in earlier] + [""]
    return ", then ".join(f"`{c}`{r}" for c, r in zip(commands, reached))


class CardError(Exception):
    """A card cannot be built from what was given; the message says what to pass instead."""


def fine_tune_origin(init: dict, init_card: Path) -> str:
    """How the generator a fine-tuned run started from (``init_from``) was trained, read off that
    model's card, once the card's weights are shown to be the ones the run loaded."""
    weights, readme = init_card / "model.safetensors", init_card / "README.md"
    missing = [p.name for p in (weights, readme) if not p.is_file()]
    if missing:
        raise CardError(f"--init-card {init_card} holds no {' or '.join(missing)}; give the card folder of {init['from']!r}")
    sha = file_sha256(weights)
    if sha != init["sha256"]:
        raise CardError(f"--init-card {init_card} holds weights with sha256 {sha}, but the run started from "
                        f"{init['from']!r} with sha256 {init['sha256']}; give a copy of that model's card as it was")
    # the whole section before its settings table: every command (an earlier fine-tune's lineage too)
    found = re.search(r"^## Training\n\n(.+?)\n\n\| setting \|", readme.read_text(), re.S | re.M)
    if found is None:
        raise CardError(f"{init_card / 'README.md'} has no '## Training' section to say how {init['from']!r} was trained")
    return (f"Fine-tuned from the generator of `{init['from']}` (weights sha256 `{sha[:16]}...`), which was trained "
            f"so: {found.group(1)}\n\nThen, from those weights with a new, untrained discriminator: ")


def devices_line(earlier: list[dict], last: dict) -> str:
    """Where the run trained: one device, or each device and the step it trained to when a resumed run
    changed machine or thread count (an earlier summary without a device is taken as the next one's)."""
    stages = [(s["device"], s["steps"]) for s in earlier if "device" in s] + [(last["device"], last["steps"])]
    merged = []
    for device, steps in stages:
        if merged and merged[-1][0] == device:
            merged[-1] = (device, steps)
        else:
            merged.append((device, steps))
    return ", then ".join([f"{d} to step {s:,}" for d, s in merged[:-1]] + [merged[-1][0]])


def build(run: Path, eval_path: Path, out_root: Path, resumed_from: list[Path] = (), init_card: Path | None = None) -> Path:
    g = ganzoo.load(run)
    meta = json.loads((run / "config.json").read_text())
    init = (meta.get("training") or {}).get("init_from")
    if init is not None and init_card is None:
        raise CardError(f"{run} started from init_from={init['from']!r}: pass --init-card with that model's card folder "
                        "(a copy of model_cards/NAME as it was), so the card shows how it was trained")
    if init is None and init_card is not None:
        raise CardError(f"--init-card {init_card} is for a run that started from init_from, and {run} did not")
    origin = fine_tune_origin(init, init_card) if init else ""     # read before out/ may overwrite that card
    name = meta.get("name") or run.name
    if name in ganzoo.list_models():                  # the registry names the data set
        meta["dataset"] = ganzoo.get_entry(name).dataset
    results = json.loads(eval_path.read_text())
    train_cfg = yaml.safe_load((run / "train_config.yaml").read_text())
    summary = json.loads((run / "train_summary.json").read_text())
    earlier_summaries = [json.loads((r / "train_summary.json").read_text()) for r in resumed_from]
    earlier = [(yaml.safe_load((r / "train_config.yaml").read_text()), s["steps"])
               for r, s in zip(resumed_from, earlier_summaries)]
    dataset_id, _, dataset_name = DATASETS[meta['dataset']]
    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    ganzoo.save_pretrained(g, out, name=name, dataset=meta.get("dataset"), training=meta.get("training"))
    (out / "eval.json").write_text(json.dumps(results, indent=2) + "\n")
    labels = ([i // 10 for i in range(100)] if g.num_classes else None)
    ganzoo.make_grid(g.sample(100, labels=labels, seed=0), nrow=10, scale=2).save(out / "samples.png")
    for f in ("loss_curve.png", "interpolation.gif"):
        if (run / f).exists():
            shutil.copyfile(run / f, out / f)

    conditional = g.num_classes is not None
    data = card_data(name, meta["family"], meta["dataset"], conditional, results, train_cfg.get("license", "mit"))

    rows = "\n".join(f"| {mname} | {results[key]} | {results.get(key + '_floor', '')} | {how} |"
                      for key, _, mname, how in METRICS if key in results)
    recipe = {k: train_cfg[k] for k in ("loss", "optimizer", "lr_g", "lr_d", "betas", "batch_size", "epochs", "d_steps",
                                        "ema_decay", "r1_gamma", "instance_noise", "label_smoothing", "aux_weight", "class_entropy", "top_k",
                                        "seed", "mixed_precision", "channels_last")
              if k in train_cfg}
    recipe.update({f"model.{k}": v for k, v in train_cfg.get("model", {}).items()})   # the architecture it trained
    usage_labels = ", labels=7" if conditional else ""
    body = f"""
# {name}

{ganzoo.get_entry(name).description if name in ganzoo.list_models() else meta['family']}, trained on {dataset_name}
with ganzoo (`pip install ganzoo-models`). Generator only: {sum(p.numel() for p in g.parameters()):,} parameters,
images {g.image_shape[1]}x{g.image_shape[2]}, latent size {g.latent_dim}{f', {g.num_classes} classes' if conditional else ''}.

![samples](samples.png)

## Usage

```python
import ganzoo

g = ganzoo.load("{name}")                       # the copy bundled with ganzoo, no network
# g = ganzoo.load("hf-hub:{ganzoo.get_entry(name).hub_repo if name in ganzoo.list_models() else 'OWNER/' + name}")  # this repo
images = g.sample(64, seed=0{usage_labels})         # (64, {g.image_shape[0]}, {g.image_shape[1]}, {g.image_shape[2]}) floats in [0, 1]
ganzoo.make_grid(images).save("grid.png")
```

## Evaluation

{results['n']:,} samples, seed {results['seed']}, judged by a {results['evaluator']} classifier (sha256
`{results['evaluator_sha256'][:16]}...`, {results['evaluator_heldout_accuracy']:.1%} on {HELDOUT[meta['dataset']]}) against
{REFERENCE[meta['dataset']]} (sha256 `{results['reference_sha256'][:16]}...`). FID is the mean over {fid_sets_text(results)} of {results.get('fid_samples', 'the first'):,} samples, each against as many
held-out images (FID depends on the sample size, so both sides are the same size); precision and
recall use the first of those sets, KID subsets of all samples. The floor is the same metric between
the two halves of the real held-out images: what a perfect generator would score.

| metric | value | real-vs-real floor | how to read it |
| --- | --- | --- | --- |
{rows}

Class shares of samples (0..9): {', '.join(f'{s:.3f}' for s in results['class_share'])}.
{per_class_line(results)}{seed_spread_line(results)}
## Training

{origin}{training_command(name, train_cfg, earlier)} ({summary['steps']:,} generator steps,
{summary.get('seconds_total', summary['seconds_this_session']) / 60:.0f} min on {devices_line(earlier_summaries, summary)}, torch {summary['torch']}).
{bn_line(meta.get('training') or {})}
| setting | value |
| --- | --- |
{chr(10).join(f'| {k} | {v} |' for k, v in recipe.items())}

![loss curves](loss_curve.png)

## Limitations

{LIMITATIONS[meta['dataset']]}
{quality_notes(results)}

## Intended use

Teaching and research on generative adversarial networks: sampling, latent interpolation and
latent arithmetic, and as a baseline for GAN evaluation. Not for producing data passed off as
real.
"""
    card = f"---\n{data.to_yaml()}\n---\n{body}"
    (out / "README.md").write_text(card)
    print(f"{name}: sha256 {file_sha256(out / 'model.safetensors')}")
    return out


def bn_line(training: dict) -> str:
    """The batch-norm re-measurement of the shipped weights, when there was one."""
    bn = training.get("bn_recalibrated")
    if not bn:
        return ""
    return (f"\nThe batch-norm statistics of the shipped (EMA) weights were then re-measured under those weights\n"
            f"from {bn['batches']} batches of {bn['batch_size']} samples (seed {bn['seed']}; the trainer's `bn_batches` at export,\n"
            f"or `training/recalibrate_bn.py` for a folder exported before): the averaged statistics had been\n"
            f"measured under other weights.\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, nargs="?", help="the training run folder (omit with --refresh)")
    p.add_argument("--eval", type=Path, help="JSON written by training/evaluate.py (required with RUN)")
    p.add_argument("--refresh", type=Path, nargs="+", metavar="CARD",
                   help="rewrite only the Hub metadata of these card folders from their config.json and eval.json")
    p.add_argument("--out", type=Path, default=REPO / "model_cards")
    p.add_argument("--resumed-from", type=Path, action="append", default=[],
                   help="a copy of the run folder (train_config.yaml, train_summary.json) as it was before RUN was "
                   "resumed with other settings, so the card shows every command; repeat it, oldest first, for a "
                   "run resumed more than once")
    p.add_argument("--init-card", type=Path, help="for a run started with init_from: that model's card folder (a copy "
                   "of model_cards/NAME as it was; its weights must be the ones the run loaded), so the card also "
                   "shows how the generator it started from was trained")
    args = p.parse_args(argv)
    if args.refresh:
        for folder in args.refresh:
            print(refresh(folder))
        return 0
    if args.run is None or args.eval is None:
        p.error("give RUN and --eval (or --refresh CARD ...)")
    try:
        build(args.run, args.eval, args.out, args.resumed_from, args.init_card)
    except CardError as e:
        print(f"make_card: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
