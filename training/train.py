#!/usr/bin/env python
"""Train any ganzoo family from a YAML recipe, on CPU, one GPU or several (accelerate).

    python training/train.py training/configs/dcgan-mnist.yaml
    python training/train.py training/configs/dcgan-mnist.yaml --resume
    python training/train.py training/configs/dcgan-mnist.yaml epochs=5 lr_g=1e-4 model.ngf=32
    accelerate launch --num_processes 8 training/train.py training/configs/dcgan-mnist.yaml

Writes into ``out``: config.json + model.safetensors (EMA generator when enabled) that
``ganzoo.load(out)`` reads, checkpoint.safetensors, log.jsonl, loss_curve.png,
samples/epoch_NNNN.png and interpolation.gif.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python training/train.py` from anywhere

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.data import DatasetError, load_dataset  # noqa: E402
from ganzoo.hub import file_sha256  # noqa: E402
from ganzoo.models import build_discriminator, build_generator, family_of, make_config  # noqa: E402
from training.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint  # noqa: E402
from training.losses import LOSSES, class_entropy_g, gradient_penalty, r1_penalty  # noqa: E402
from training.widen import WidenError, widen  # noqa: E402

log = logging.getLogger("ganzoo.train")
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
    lr_g: float = 2e-4
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
    aux_weight: float = 1.0                     # D's class head (cgan aux_classifier, dcgan aux_classes): label supervision weight
    class_entropy: float = 0.0                  # dcgan with aux_classes: weight of G's CatGAN term (losses.class_entropy_g)
    top_k: float = 1.0                          # share of each fake batch, D's highest scores, in G's loss (Sinha et al. 2020)
    bn_batches: int = 200                       # batches of samples that re-measure the EMA generator's batch-norm statistics at export; 0: keep the averaged ones
    checkpoint_every: int = 500
    log_every: int = 25
    sample_epochs: list[int] = field(default_factory=lambda: [1, 20, -1])   # -1: the last epoch
    mixed_precision: str = "no"                 # no | bf16 (GPU, or a CPU with AVX-512 or AMX)
    channels_last: bool = False
    compile: bool = False
    max_loss: float = 1e4                       # |loss| above this stops the run (exploding)
    cpu: bool = False                           # force CPU even when a GPU is there
    init_from: str | None = None                # start G (and its EMA) from this generator: zoo name, hf-hub:owner/repo or folder; D starts untrained; a wider recipe gets its weights widened (training/widen.py)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and isinstance(value, str):
                try:
                    setattr(self, f.name, float(value))        # YAML 1.1 reads 1e-4 as a string
                except ValueError:
                    raise TrainingError(f"{f.name} must be a number, got {value!r}") from None
        self.betas = tuple(float(b) for b in self.betas)
        if self.mixed_precision is False:                      # YAML 1.1 reads `no` (and off, false) as False
            self.mixed_precision = "no"
        checks = {"loss": (self.loss, tuple(LOSSES)), "optimizer": (self.optimizer, ("adam", "sgd")),
                  "mixed_precision": (self.mixed_precision, ("no", "bf16"))}
        for key, (value, valid) in checks.items():
            if value not in valid:
                raise TrainingError(f"{key}={value!r} is not one of {', '.join(valid)}")
        if not 0 < self.top_k <= 1:
            raise TrainingError(f"top_k must be a share of the batch in (0, 1], got {self.top_k!r}")
        for key in ("d_steps", "batch_size", "epochs", "checkpoint_every", "log_every"):
            v = getattr(self, key)
            if not isinstance(v, int) or v < 1:
                raise TrainingError(f"{key} must be a positive int, got {v!r}")
        if not 0 <= self.ema_decay < 1:
            raise TrainingError(f"ema_decay must be in [0, 1), got {self.ema_decay!r}")
        if not isinstance(self.bn_batches, int) or self.bn_batches < 0:
            raise TrainingError(f"bn_batches must be an int >= 0 (0 keeps the averaged statistics), got {self.bn_batches!r}")

    @property
    def out_dir(self) -> Path:
        return _resolve(self.out or f"runs/{self.name}")


def recalibrate_batchnorm(g: ganzoo.ImageGenerator, *, batches: int, batch_size: int, seed: int = 0) -> dict | None:
    """Re-measure g's batch-norm running statistics, in place, on ``batches`` batches of its own samples.

    The EMA generator (AveragedModel with use_buffers) keeps an average of the live generator's
    statistics, each measured under other weights than the averaged ones it ships with. This
    measures them under the shipped weights, as SWA's update_bn does: a cumulative mean of the
    batch statistics over latents z ~ N(0, I) (and uniform labels), drawn from ``seed`` on the CPU.
    Only buffers change. Returns the settings, for config.json, or None when g has no batch norm.
    """
    bns = [m for m in g.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns or batches < 1:
        return None
    was_training, momenta = g.training, [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None                       # cumulative mean over all batches
    gen = torch.Generator().manual_seed(seed)
    g.train()
    with torch.no_grad():
        for _ in range(batches):
            z = torch.randn(batch_size, g.latent_dim, generator=gen)
            y = None if g.num_classes is None else torch.randint(0, g.num_classes, (batch_size,), generator=gen)
            g(z.to(g.device), None if y is None else y.to(g.device))
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
    g.train(was_training)
    return {"batches": batches, "batch_size": batch_size, "seed": seed}


def _resolve(path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() or p.exists() else REPO_ROOT / p


def parse_value(text: str) -> Any:
    """YAML scalars, plus numbers YAML 1.1 leaves as strings (``1e-4``)."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """A recipe from YAML, with ``key=value`` overrides (``model.ngf=32`` reaches into model)."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise TrainingError(f"cannot read recipe {str(path)!r}: {e}") from e
    if not isinstance(raw, dict):
        raise TrainingError(f"recipe {str(path)!r} must be a YAML mapping")
    for item in overrides:
        key, eq, value = item.partition("=")
        if not eq:
            raise TrainingError(f"override {item!r} must look like key=value (e.g. epochs=5, model.ngf=32)")
        *parents, leaf = key.split(".")
        node = raw
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = parse_value(value)
    valid = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - valid)
    if unknown:
        raise TrainingError(f"unknown recipe option(s) {unknown}; valid: {sorted(valid)}")
    try:
        return TrainConfig(**raw)
    except TypeError as e:
        raise TrainingError(f"recipe {str(path)!r}: {e}") from e


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX-512 or AMX); elsewhere torch emulates it."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


class Trainer:
    def __init__(self, cfg: TrainConfig, *, resume: bool = False):
        from accelerate import Accelerator

        self.cfg = cfg
        self.seconds_before, self.session_start = 0.0, None   # wall time of earlier sessions (resume)
        self.init_source: dict[str, str] | None = None        # what init_from loaded: {"from", "sha256"}
        # cpu=True also when there is no GPU: only then does accelerate join the processes of a
        # multi-process CPU launch (torchrun / accelerate launch) instead of running N separate runs.
        self.acc = Accelerator(mixed_precision=cfg.mixed_precision, cpu=cfg.cpu or not torch.cuda.is_available())
        self.device = self.acc.device
        if cfg.mixed_precision == "bf16" and self.device.type == "cpu" and not cpu_has_fast_bf16():
            # measured on a 2-core AVX2 EPYC: 17 images/s in bf16 against 373 in fp32 (docs/performance.md)
            log.warning("mixed_precision=bf16 on a CPU without bf16 instructions (%s): torch emulates bf16 "
                        "there, about 20x slower than fp32; use mixed_precision=no on this machine",
                        torch.backends.cpu.get_cpu_capability())
        self.out = cfg.out_dir
        try:
            self.model_cfg = make_config(cfg.family, cfg.model)
        except ValueError as e:
            raise TrainingError(str(e)) from e
        self.conditional = getattr(self.model_cfg, "num_classes", None) is not None
        # D's class head, trained on the real labels: cgan's AC-GAN head, or dcgan's label supervision
        n_labels = self.model_cfg.num_classes if self.conditional else getattr(self.model_cfg, "aux_classes", 0)
        self.aux = cfg.aux_weight > 0 and (self.model_cfg.aux_classifier if self.conditional else n_labels > 0)
        try:
            data = load_dataset(_resolve(cfg.data), channels=self.model_cfg.channels, image_size=self.model_cfg.image_size)
        except DatasetError as e:
            raise TrainingError(str(e)) from e
        if n_labels and (data.labels is None or data.num_classes > n_labels):
            option = "num_classes" if self.conditional else "aux_classes"
            raise TrainingError(f"{cfg.family} with {option}={n_labels} needs labels in 0..{n_labels - 1}; "
                                f"{data.source!r} has {'none' if data.labels is None else data.num_classes}")
        if cfg.class_entropy > 0 and (self.conditional or not self.aux):
            raise TrainingError(f"class_entropy={cfg.class_entropy} needs an unconditional model whose D has a class "
                                "head (model.aux_classes >= 2, aux_weight > 0)")
        self.dataset_name = data.name
        self.images = data.images.to(self.device)                      # uint8 (N, C, H, W), held on the device
        self.labels = data.labels.to(self.device) if n_labels else None
        world = self.acc.num_processes
        self.steps_per_epoch = len(data) // (cfg.batch_size * world)    # batches per epoch, per process
        if self.steps_per_epoch < 1:
            raise TrainingError(f"batch_size {cfg.batch_size} x {world} process(es) exceeds the {len(data)} images")
        total_batches = cfg.epochs * self.steps_per_epoch
        self.total_steps = total_batches // cfg.d_steps
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)

        torch.manual_seed(cfg.seed)                                   # weight init
        G = build_generator(cfg.family, self.model_cfg)
        if cfg.init_from is not None and not (resume and (self.out / CHECKPOINT_NAME).is_file()):
            self._init_generator(G)                                 # a checkpoint to resume from wins
        D = build_discriminator(cfg.family, self.model_cfg)
        if cfg.channels_last:
            G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        self.ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True) \
            if cfg.ema_decay > 0 else None
        opt_g, opt_d = (self._optimizer(G, cfg.lr_g), self._optimizer(D, cfg.lr_d))
        self.G, self.D, self.opt_g, self.opt_d = self.acc.prepare(G, D, opt_g, opt_d)
        if self.ema is not None:
            self.ema.to(self.device)
        self.G_fwd, self.D_fwd = (torch.compile(self.G), torch.compile(self.D)) if cfg.compile else (self.G, self.D)
        self.rng = torch.Generator(device=self.device)
        self.step = 0
        self.rng.manual_seed(self._stream_seed())
        self.d_losses, self.g_losses = LOSSES[cfg.loss]
        self.loss_d, self.loss_g, self.d_real, self.d_fake = (torch.zeros((), device=self.device) for _ in range(4))
        if resume:
            self._resume()

    def _init_generator(self, G: ganzoo.ImageGenerator) -> None:
        """G's weights and batch-norm statistics from cfg.init_from (a run whose checkpoint, with
        its D, is gone can go on from the generator it shipped)."""
        spec = self.cfg.init_from
        folder = _resolve(spec)
        try:
            with torch.random.fork_rng(devices=[]):   # building it draws weights: leave D's init as from scratch
                src = ganzoo.load(folder if folder.is_dir() else spec)
        except (ganzoo.GanzooError, ValueError) as e:
            raise TrainingError(f"init_from={spec!r}: {e}") from None
        if family_of(src) != self.cfg.family:
            raise TrainingError(f"init_from={spec!r} is a {family_of(src)} generator; this recipe trains {self.cfg.family}")
        same_shapes = {k: v.shape for k, v in src.state_dict().items()} == {k: v.shape for k, v in G.state_dict().items()}
        try:
            if same_shapes:
                G.load_state_dict(src.state_dict())
            else:                                   # a wider recipe starts from the narrow model's function
                widen(src, G, generator=torch.Generator().manual_seed(self.cfg.seed))
        except (RuntimeError, WidenError) as e:
            raise TrainingError(f"init_from={spec!r} does not fit the recipe's generator; give the model options it was "
                                f"trained with ({src.config_dict()}), or whole multiples of its widths. {e}") from None
        # the card of a fine-tuned model names the weights it started from (training/make_card.py)
        self.init_source = {"from": spec, "sha256": file_sha256(src.weights_file)}
        log.info("G starts from %s (step 0; D untrained%s)", spec, "" if same_shapes else f"; widened from {src.config_dict()}")

    def _optimizer(self, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.cfg.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr, momentum=self.cfg.momentum)
        # fused: one kernel for the whole update instead of several per parameter
        return torch.optim.Adam(model.parameters(), lr=lr, betas=self.cfg.betas, fused=True)

    # ---- state -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        unwrap = self.acc.unwrap_model
        return {"step": self.step, "config": dataclasses.asdict(self.cfg),
                "G": unwrap(self.G).state_dict(), "D": unwrap(self.D).state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng": self.rng.get_state(), "torch_rng": torch.get_rng_state(), "init_source": self.init_source,
                "seconds": self.seconds_before + (time.perf_counter() - self.session_start if self.session_start else 0.0)}

    def _resume(self) -> None:
        path = self.out / CHECKPOINT_NAME
        if not path.is_file():
            log.warning("--resume: no checkpoint at %s, starting from step 0", path)
            return
        st = load_checkpoint(path)
        changed = {k for k, v in dataclasses.asdict(self.cfg).items()
                   if json.dumps(st["config"].get(k)) != json.dumps(v)} - {"epochs", "max_steps", "out"}
        if changed:
            log.warning("resuming with changed settings %s; the result will differ from the original run", sorted(changed))
        try:
            self.acc.unwrap_model(self.G).load_state_dict(st["G"])
            opt_d_state = self._load_discriminator(st["D"], st["opt_d"])
        except RuntimeError as e:                      # shapes differ: model options changed
            raise TrainingError(f"the checkpoint {path} does not fit the recipe; resume with the model options "
                                f"it was trained with. {e}") from None
        if self.ema is not None and st["ema"] is not None:
            self.ema.load_state_dict(st["ema"])
        # load_state_dict restores the saved hyperparameters with the optimizer's state; the recipe's
        # (lr_g=..., betas=..., momentum=... on --resume) win, the state (Adam's moments) stays
        for opt, saved in ((self.opt_g, st["opt_g"]), (self.opt_d, opt_d_state)):
            recipe = [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]
            opt.load_state_dict(saved)
            for group, settings in zip(opt.param_groups, recipe):
                group.update(settings)
        self.step = st["step"]
        self._restore_rng(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        self.init_source = st.get("init_source")
        self.seconds_before = float(st.get("seconds", 0.0))   # training time of the earlier sessions
        if "seconds" not in st:                                # checkpoints written before it was recorded
            summary = self.out / "train_summary.json"
            old = json.loads(summary.read_text()) if summary.is_file() else {}
            self.seconds_before = old.get("seconds_total", old.get("seconds_this_session", 0.0)) \
                if old.get("steps") == self.step else 0.0
        log.info("resumed from %s at step %d", path, self.step)

    def _stream_seed(self) -> int:
        """The seed of this process's random stream from the current step: (seed, process) at
        step 0, as every run starts, and (seed, process, step) for a stream that cannot be restored."""
        return self.cfg.seed + 7919 * self.acc.process_index + 104729 * self.step

    def _restore_rng(self, saved: torch.Tensor) -> None:
        """The run's random stream (latents, labels, instance noise) as the checkpoint left it.
        A checkpoint written on another kind of device (a run begun on a GPU and resumed on the
        CPU, or the other way) holds another generator's state, which this device's cannot take:
        the stream is then seeded from the run's seed and step, and the run goes on, close to but
        no longer identical with an uninterrupted one."""
        if saved.numel() == self.rng.get_state().numel():
            self.rng.set_state(saved)
            return
        self.rng.manual_seed(self._stream_seed())
        log.warning("the checkpoint's random state is of another kind of device than %s; latents and noise "
                    "go on from a stream seeded by (seed, step) instead, so this run will not repeat "
                    "an uninterrupted one exactly", self.device.type)

    def _load_discriminator(self, weights: dict, opt_state: dict) -> dict:
        """Loads D strictly, except that a class head added by this recipe (model.aux_classes on
        --resume) may be missing from the checkpoint: it starts untrained. Returns the optimizer
        state to load, extended by the new head's parameters (registered last, so indices line up)."""
        D = self.acc.unwrap_model(self.D)
        missing, unexpected = D.load_state_dict(weights, strict=False)
        new_head = all(k.startswith("aux.") for k in missing) and not unexpected and len(self.opt_d.param_groups) == 1
        if (missing or unexpected) and not new_head:
            raise TrainingError(f"the checkpoint's discriminator does not fit the recipe: missing {missing}, "
                                f"unexpected {unexpected}; resume with the model options it was trained with")
        if not missing:
            return opt_state
        log.warning("the checkpoint has no D class head (%s): it starts untrained", ", ".join(missing))
        n_params = len(list(D.parameters()))
        group = dict(opt_state["param_groups"][0], params=list(range(n_params)))
        return {"state": opt_state["state"], "param_groups": [group]}

    def save_checkpoint(self) -> None:
        self._check_finite()
        if self.acc.is_main_process:
            save_checkpoint(self.state(), self.out / CHECKPOINT_NAME)

    def _check_finite(self) -> None:
        for name, v in (("D loss", self.loss_d), ("G loss", self.loss_g)):
            value = float(v)
            if not math.isfinite(value) or abs(value) > self.cfg.max_loss:
                raise TrainingError(
                    f"{name} is {value} at step {self.step}: training diverged (limit max_loss={self.cfg.max_loss}). "
                    f"The last good checkpoint is kept in {self.out / CHECKPOINT_NAME}; lower the learning rates, "
                    "add r1_gamma or instance_noise, and run again with --resume")

    # ---- one step ----------------------------------------------------------------------
    def _batch(self, b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The b-th batch of this process (b counts batches since the start of training)."""
        cfg = self.cfg
        epoch, i = divmod(b, self.steps_per_epoch)
        if getattr(self, "_perm_epoch", None) != epoch:   # one shuffle per epoch, from (seed, epoch)
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.images.shape[0], generator=gen).to(self.device)
            self._perm_epoch = epoch
        world, rank = self.acc.num_processes, self.acc.process_index
        start = (i * world + rank) * cfg.batch_size
        idx = self._perm[start:start + cfg.batch_size]
        x = self.images[idx].float().div_(255)                               # (B, C, H, W) in [0, 1]
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, (self.labels[idx] if self.labels is not None else None)

    def _noise_std(self) -> float:
        cfg = self.cfg
        if cfg.instance_noise <= 0:
            return 0.0
        return cfg.instance_noise * max(0.0, 1 - self.step / max(1.0, cfg.instance_noise_steps * self.total_steps))

    def _latents(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.model_cfg.latent_dim, device=self.device, generator=self.rng)
        y = torch.randint(0, self.model_cfg.num_classes, (n,), device=self.device, generator=self.rng) \
            if self.conditional else None
        return z, y

    def train_step(self) -> None:
        cfg, acc = self.cfg, self.acc
        sigma = self._noise_std()
        aux = self.aux                                  # D has a class head to train
        for j in range(cfg.d_steps):
            x, y = self._batch(self.step * cfg.d_steps + j)
            B = x.shape[0]
            z, y_fake = self._latents(B)
            last = j == cfg.d_steps - 1
            with torch.set_grad_enabled(last):          # the last fake batch is reused by the G step
                fake = self.G_fwd(z, y_fake)
            if sigma > 0:
                x = x + sigma * torch.randn(x.shape, device=x.device, generator=self.rng)
            fake_d = fake.detach()
            if sigma > 0:
                fake_d = fake_d + sigma * torch.randn(fake_d.shape, device=x.device, generator=self.rng)
            if cfg.r1_gamma > 0:
                x.requires_grad_(True)
            real_logits, real_cls = self._d_outputs(x, y, aux)
            fake_logits, _ = self._d_outputs(fake_d, y_fake, False)
            loss_d = self.d_losses(real_logits.float(), fake_logits.float(), smooth=cfg.label_smoothing)
            if aux:
                loss_cls = F.cross_entropy(real_cls.float(), y)          # D's class head on real images
                loss_d = loss_d + cfg.aux_weight * loss_cls
            if cfg.loss == "wgan-gp":
                loss_d = loss_d + cfg.gp_weight * gradient_penalty(self.D_fwd, x.detach(), fake_d, y_fake if y is None else y,
                                                                   generator=self.rng)
            if cfg.r1_gamma > 0:
                loss_d = loss_d + cfg.r1_gamma / 2 * r1_penalty(real_logits, x)
            self.opt_d.zero_grad(set_to_none=True)
            acc.backward(loss_d)
            self.opt_d.step()

        # D's weight gradients are not needed for G's step; skipping them saves a third of D's
        # backward. Not under DDP, which expects a gradient for every parameter it holds.
        freeze_d = acc.num_processes == 1
        if freeze_d:
            self.D.requires_grad_(False)
        fake_g = fake if sigma == 0 else fake + sigma * torch.randn(fake.shape, device=fake.device, generator=self.rng)
        logits_g, cls_g = self._d_outputs(fake_g, y_fake, aux and (self.conditional or cfg.class_entropy > 0))
        # top-k: G learns only from the fakes D finds most realistic; the worst ones' gradients
        # point at D's current quirks rather than at the data (Sinha et al. 2020)
        top = logits_g if cfg.top_k == 1 else logits_g.topk(max(1, round(cfg.top_k * B))).values
        loss_g = self.g_losses(top.float())
        if aux and self.conditional:
            loss_g = loss_g + cfg.aux_weight * F.cross_entropy(cls_g.float(), y_fake)
        elif cfg.class_entropy > 0:
            loss_g = loss_g + cfg.class_entropy * class_entropy_g(cls_g)
        self.opt_g.zero_grad(set_to_none=True)
        acc.backward(loss_g)
        self.opt_g.step()
        if freeze_d:
            self.D.requires_grad_(True)
        if self.ema is not None:
            self.ema.update_parameters(acc.unwrap_model(self.G))
        self.loss_d, self.loss_g = loss_d.detach(), loss_g.detach()
        self.loss_cls = loss_cls.detach() if aux else None
        self.d_real = torch.sigmoid(real_logits.detach().float()).mean()
        self.d_fake = torch.sigmoid(fake_logits.detach().float()).mean()
        self.step += 1

    def _d_outputs(self, x, y, with_classes: bool):
        """(logits (B,), class logits (B, K) or None)."""
        if with_classes:
            return self.D_fwd(x, y, with_classes=True)
        return self.D_fwd(x, y), None

    # ---- outputs -----------------------------------------------------------------------
    def generator_for_export(self) -> ganzoo.ImageGenerator:
        return self.ema.module if self.ema is not None else self.acc.unwrap_model(self.G)

    def save_samples(self, epoch: int) -> None:
        g = self.generator_for_export()
        was_training = g.training
        g.eval()
        labels = (torch.arange(64) % self.model_cfg.num_classes) if self.conditional else None
        images = g.sample(64, labels=labels, seed=self.cfg.seed)
        g.train(was_training)
        (self.out / "samples").mkdir(exist_ok=True)
        ganzoo.make_grid(images, nrow=8, scale=2).save(self.out / "samples" / f"epoch_{epoch:04d}.png")

    def run(self) -> Path:
        from tqdm.auto import tqdm

        cfg, acc = self.cfg, self.acc
        self.out.mkdir(parents=True, exist_ok=True)
        log_path = self.out / "log.jsonl"
        if acc.is_main_process:
            (self.out / "train_config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
            _truncate_log(log_path, self.step)
        last_epoch = math.ceil(self.total_steps * cfg.d_steps / self.steps_per_epoch)
        sample_epochs = {e if e > 0 else last_epoch + 1 + e for e in cfg.sample_epochs}
        imgs_per_step = cfg.batch_size * cfg.d_steps * acc.num_processes
        bar = tqdm(total=self.total_steps, initial=self.step, disable=not acc.is_main_process, unit="step",
                   desc=cfg.name, dynamic_ncols=True)
        self.G.train()
        self.D.train()
        t0, s0 = time.perf_counter(), self.step
        self.session_start = t0
        with open(log_path, "a") if acc.is_main_process else open(os.devnull, "w") as logf:
            while self.step < self.total_steps:
                epoch_before = self.step * cfg.d_steps // self.steps_per_epoch
                self.train_step()
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    self._check_finite()
                    now = time.perf_counter()
                    rate = (self.step - s0) * imgs_per_step / max(now - t0, 1e-9)
                    t0, s0 = now, self.step
                    rec = {"step": self.step, "epoch": self.step * cfg.d_steps / self.steps_per_epoch,
                           "loss_d": float(self.loss_d), "loss_g": float(self.loss_g), "d_real": float(self.d_real),
                           "d_fake": float(self.d_fake), "images_per_s": rate}
                    if self.loss_cls is not None:
                        rec["loss_cls"] = float(self.loss_cls)
                    logf.write(json.dumps(rec) + "\n")
                    logf.flush()
                    bar.set_postfix(loss_d=f"{rec['loss_d']:.3f}", loss_g=f"{rec['loss_g']:.3f}", img_s=f"{rate:.0f}")
                epoch_after = self.step * cfg.d_steps // self.steps_per_epoch
                if epoch_after > epoch_before and acc.is_main_process:
                    for e in range(epoch_before + 1, epoch_after + 1):
                        if e in sample_epochs:
                            self.save_samples(e)
                if self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
        bar.close()
        self.save_checkpoint()
        acc.wait_for_everyone()
        if acc.is_main_process:
            if last_epoch in sample_epochs:
                self.save_samples(last_epoch)
            self._export(time.perf_counter() - self.session_start)
        return self.out

    def _export(self, seconds: float) -> None:
        g = self.generator_for_export()
        training = {"steps": self.step, "epochs": self.step * self.cfg.d_steps / self.steps_per_epoch,
                    "seed": self.cfg.seed, "ema": self.ema is not None}
        if self.init_source is not None:
            training["init_from"] = self.init_source
        if self.ema is not None:                # a copy: the checkpoint keeps the averaged statistics
            g = copy.deepcopy(g)
            bn = recalibrate_batchnorm(g, batches=self.cfg.bn_batches, batch_size=self.cfg.batch_size, seed=self.cfg.seed)
            if bn is not None:
                training["bn_recalibrated"] = bn
        ganzoo.save_pretrained(g.eval(), self.out, name=self.cfg.name, dataset=self.dataset_name, training=training)
        summary = {"steps": self.step, "seconds_this_session": round(seconds, 2),
                   "seconds_total": round(self.seconds_before + seconds, 2), "device": device_name(self.device),
                   "num_processes": self.acc.num_processes, "torch": torch.__version__}
        (self.out / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        plot_losses(self.out / "log.jsonl", self.out / "loss_curve.png")
        trained = ganzoo.load(self.out)
        label = 0 if trained.num_classes is not None else None
        ganzoo.save_gif(ganzoo.interpolate(trained, start=0, end=1, steps=24, labels=label),
                        self.out / "interpolation.gif", fps=12, boomerang=True)


def device_name(device: torch.device) -> str:
    """The machine a run or benchmark used: the GPU's name, or the CPU with its vector extension and threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform
    # the vector extension decides the speed (bf16 is 20x slower than fp32 on AVX2), so record it
    return (f"cpu ({platform.processor() or platform.machine()} {torch.backends.cpu.get_cpu_capability()}, "
            f"{torch.get_num_threads()} threads)")


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (written by a run killed after its last checkpoint)."""
    if not path.exists():
        return
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
    path.write_text("".join(ln + "\n" for ln in lines))


def plot_losses(log_path: Path, png_path: Path) -> None:
    """Loss curves and D outputs per step, from log.jsonl."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [json.loads(ln) for ln in log_path.read_text().splitlines() if ln.strip()]
    if not recs:
        return
    steps = [r["step"] for r in recs]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot(steps, [r["loss_d"] for r in recs], label="D loss")
    ax1.plot(steps, [r["loss_g"] for r in recs], label="G loss")
    ax1.set_xlabel("generator step"), ax1.legend(), ax1.set_title("losses")
    ax2.plot(steps, [r["d_real"] for r in recs], label="D(x)")
    ax2.plot(steps, [r["d_fake"] for r in recs], label="D(G(z))")
    ax2.axhline(0.5, color="grey", lw=0.5)
    ax2.set_xlabel("generator step"), ax2.legend(), ax2.set_title("discriminator outputs")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="recipe YAML, e.g. training/configs/dcgan-mnist.yaml")
    p.add_argument("overrides", nargs="*", help="key=value settings that override the recipe (model.ngf=32)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    p.add_argument("--out", help="output folder (default runs/NAME)")
    args = p.parse_intermixed_args(argv)   # overrides may come before or after --out/--resume
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.config, args.overrides + ([f"out={args.out}"] if args.out else []))
        out = Trainer(cfg, resume=args.resume).run()
    except TrainingError as e:
        log.error("%s", e)
        return 2
    log.info("done: ganzoo.load(%r)", str(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
