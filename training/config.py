"""A training recipe: TrainConfig, the one source of a run's hyper-parameters, read from YAML
with ``key=value`` overrides (``model.ngf=32`` reaches into the model options).

Every setting is checked when the config is built, so a typo or an impossible value stops the
run before it touches its output folder, with one line that names the value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from training.losses import LOSSES

REPO_ROOT = Path(__file__).resolve().parents[1]


class TrainingError(RuntimeError):
    """Bad settings, or a run that diverged; the message says which and what to do."""


@dataclass
class TrainConfig:
    name: str
    family: str
    data: str                                   # folder of IDX files or images (relative to the repo root)
    model: dict[str, Any] = field(default_factory=dict)
    out: str | None = None                      # default runs/NAME
    loss: str = "nonsaturating"                 # minimax | nonsaturating | hinge | wgan-gp
    d_steps: int = 1                            # k discriminator steps per generator step (Algorithm 1)
    optimizer: str = "adam"                     # adam | sgd (with momentum, as in Algorithm 1)
    lr_g: float = 2e-4                          # 0 freezes G (train D alone, e.g. a new D for a shipped G)
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    momentum: float = 0.9
    batch_size: int = 128
    epochs: int = 30
    max_steps: int | None = None                # stop after this many G steps (tests, benchmarks)
    seed: int = 0
    ema_decay: float = 0.999                    # 0 disables the EMA of G's weights
    r1_gamma: float = 0.0
    gp_weight: float = 10.0                     # wgan-gp only
    instance_noise: float = 0.0                 # initial std (image units), annealed linearly to 0
    instance_noise_steps: float = 0.5           # ... over this fraction of training
    label_smoothing: float = 0.0                # one-sided: real target 1 - s
    aux_weight: float = 1.0                     # weight of D's class head (cgan aux_classifier, dcgan aux_classes)
    class_entropy: float = 0.0                  # dcgan with aux_classes: weight of G's CatGAN term
    top_k: float = 1.0                          # share of each fake batch, D's highest scores, in G's loss
    bn_batches: int = 200                       # batches that re-measure the exported EMA generator's batch norm; 0 keeps the averaged statistics
    checkpoint_every: int = 500
    log_every: int = 25                         # steps between reading the losses back from the device
    sample_epochs: list[int] = field(default_factory=lambda: [1, 20, -1])   # -1: the last epoch
    mixed_precision: str = "no"                 # no | bf16 (GPU, or a CPU with AVX-512 or AMX)
    channels_last: bool = False
    compile: bool = False
    cuda_graph: bool = True                     # on CUDA, replay the whole step as one CUDA graph (training/graph.py)
    max_loss: float = 1e4                       # |loss| above this stops the run (exploding)
    cpu: bool = False                           # force CPU even when a GPU is there
    init_from: str | None = None                # start G (and its EMA) from this generator: zoo name, hf-hub:owner/repo or folder

    def __post_init__(self):
        if self.mixed_precision is False:                      # YAML 1.1 reads `no` (and off, false) as False
            self.mixed_precision = "no"
        for f in dataclasses.fields(self):
            setattr(self, f.name, _checked(f.name, f.type, getattr(self, f.name)))
        choices = {"loss": tuple(LOSSES), "optimizer": ("adam", "sgd"), "mixed_precision": ("no", "bf16")}
        for key, valid in choices.items():
            if getattr(self, key) not in valid:
                raise TrainingError(f"{key}={getattr(self, key)!r} is not one of {', '.join(valid)}")
        ranges = {   # key: (low, high, low inclusive, high inclusive)
            "lr_g": (0, math.inf, True, False), "lr_d": (0, math.inf, False, False),
            "momentum": (0, 1, True, False), "ema_decay": (0, 1, True, False), "r1_gamma": (0, math.inf, True, False),
            "gp_weight": (0, math.inf, True, False), "instance_noise": (0, math.inf, True, False),
            "instance_noise_steps": (0, 1, False, True), "label_smoothing": (0, 1, True, False),
            "aux_weight": (0, math.inf, True, False), "class_entropy": (0, math.inf, True, False),
            "top_k": (0, 1, False, True), "max_loss": (0, math.inf, False, False),
        }
        for key, (lo, hi, lo_in, hi_in) in ranges.items():
            v = getattr(self, key)
            if not ((v >= lo if lo_in else v > lo) and (v <= hi if hi_in else v < hi)):
                interval = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
                raise TrainingError(f"{key} must be in {interval}, got {v!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise TrainingError(f"betas must be two numbers in [0, 1), got {list(self.betas)!r}")
        for key in ("d_steps", "batch_size", "epochs", "checkpoint_every", "log_every"):
            if getattr(self, key) < 1:
                raise TrainingError(f"{key} must be an int >= 1, got {getattr(self, key)!r}")
        if self.max_steps is not None and self.max_steps < 1:
            raise TrainingError(f"max_steps must be an int >= 1 (or absent: train all epochs), got {self.max_steps!r}")
        for key in ("seed", "bn_batches"):
            if getattr(self, key) < 0:
                raise TrainingError(f"{key} must be an int >= 0, got {getattr(self, key)!r}")
        if 0 in self.sample_epochs:
            raise TrainingError(f"sample_epochs counts from 1 (or from the end: -1 is the last epoch); got {self.sample_epochs!r}")

    @property
    def out_dir(self) -> Path:
        return resolve_path(self.out or f"runs/{self.name}")


_TYPE_WORDS = {"str": "a text", "int": "an int", "float": "a number", "bool": "true or false",
               "dict[str, Any]": "a mapping (model: {ngf: 64, ...})", "list[int]": "a list of ints ([1, 20, -1])",
               "tuple[float, float]": "two numbers ([0.5, 0.999])"}


def _checked(key: str, type_: str, value: Any) -> Any:
    """``value`` as the field's type (YAML's 1e-4 string as a float, [0.5, 0.999] as a tuple), or TrainingError."""
    optional = type_.endswith(" | None")
    base = type_.removesuffix(" | None")
    if value is None and optional:
        return None
    bad = TrainingError(f"{key} must be {_TYPE_WORDS[base]}{' or absent' if optional else ''}, got {value!r}")
    if base == "float":
        if isinstance(value, str):
            try:
                value = float(value)                               # YAML 1.1 reads 1e-4 as a string
            except ValueError:
                raise bad from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise bad
        return float(value)
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if base == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if base == "str":
        if not isinstance(value, str) or not value:
            raise bad
        return value
    if base.startswith("dict"):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise bad
        return value
    if base == "list[int]":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise bad
        return list(value)
    if base == "tuple[float, float]":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                           for v in value):
            raise bad
        return tuple(float(v) for v in value)
    raise AssertionError(f"no check for {key}: {type_}")


def resolve_path(path: str) -> Path:
    """A path as given when it exists or is absolute, else relative to the repo root (recipes say ../shared/...)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() or p.exists() else REPO_ROOT / p


def parse_value(text: str) -> Any:
    """YAML scalars, plus numbers YAML 1.1 leaves as strings (``1e-4``)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """A recipe from YAML, with ``key=value`` overrides (``model.ngf=32`` reaches into model)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise TrainingError(f"cannot read recipe {str(path)!r}: {e.strerror or e}") from None
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise TrainingError(f"recipe {str(path)!r} is not a YAML text: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise TrainingError(f"recipe {str(path)!r} must be a YAML mapping (name: ..., family: ..., data: ...)")
    for item in overrides:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise TrainingError(f"override {item!r} must look like key=value (e.g. epochs=5, model.ngf=32)")
        *parents, leaf = key.split(".")
        node = raw
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise TrainingError(f"override {item!r}: {p} is not a mapping")
        node[leaf] = parse_value(value)
    valid = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - valid)
    if unknown:
        raise TrainingError(f"unknown recipe option(s) {unknown}; valid: {sorted(valid)}")
    try:
        return TrainConfig(**raw)
    except TypeError as e:
        raise TrainingError(f"recipe {str(path)!r}: {e}") from None
