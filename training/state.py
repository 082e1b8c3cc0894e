"""A run's state between sessions: what a checkpoint holds, and how a run resumes from one.

A checkpoint (training/checkpoint.py writes it atomically) holds G, D, the EMA, both optimizers,
the random stream and the step. Resuming on the CPU repeats an uninterrupted run bit for bit.
On a GPU it resumes the same weights, moments and stream, but cuDNN does not promise identical
results run to run, so a resumed GPU run is an equally good run, not the same one
(docs/training.md, Reproducibility).
"""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint, save_checkpoint
from training.config import TrainConfig, TrainingError

log = logging.getLogger("ganzoo.train")


@dataclass
class RunState:
    """What changes as a run trains; the Trainer holds one and the loop advances it."""
    cfg: TrainConfig
    G: nn.Module                         # unwrapped modules (no DDP wrapper)
    D: nn.Module
    ema: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: torch.Generator                 # latents, labels and noise, on the device
    process: int = 0
    step: int = 0
    seconds_before: float = 0.0          # training time of earlier sessions
    init_source: dict[str, str] | None = None   # what init_from loaded: {"from", "sha256"}

    def stream_seed(self) -> int:
        """The random stream's seed: (seed, process) at step 0, as every run starts, and
        (seed, process, step) for a stream that cannot be restored."""
        return self.cfg.seed + 7919 * self.process + 104729 * self.step

    def to_dict(self, seconds: float) -> dict[str, Any]:
        return {"step": self.step, "config": dataclasses.asdict(self.cfg),
                "G": self.G.state_dict(), "D": self.D.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng": self.rng.get_state(), "torch_rng": torch.get_rng_state(), "init_source": self.init_source,
                "seconds": self.seconds_before + seconds}

    def save(self, out: Path, seconds: float) -> None:
        save_checkpoint(self.to_dict(seconds), out / CHECKPOINT_NAME)

    def resume(self, out: Path) -> None:
        """Loads OUT/checkpoint.safetensors into this state; a missing one starts from step 0."""
        path = out / CHECKPOINT_NAME
        if not path.is_file():
            log.warning("--resume: no checkpoint at %s, starting from step 0", path)
            return
        try:
            st = load_checkpoint(path)
        except CheckpointError as e:
            raise TrainingError(f"{e}; the run cannot resume from it: delete it to start again from step 0") from None
        changed = {k for k, v in dataclasses.asdict(self.cfg).items()
                   if json.dumps(st["config"].get(k)) != json.dumps(v)} - {"epochs", "max_steps", "out"}
        if changed:
            log.warning("resuming with changed settings %s; the result will differ from the original run", sorted(changed))
        try:
            self.G.load_state_dict(st["G"])
            opt_d_state = self._load_discriminator(st["D"], st["opt_d"])
        except RuntimeError as e:                      # shapes differ: model options changed
            raise TrainingError(f"the checkpoint {path} does not fit the recipe; resume with the model options "
                                f"it was trained with. {' '.join(str(e).split())}") from None
        if self.ema is not None and st["ema"] is not None:
            self.ema.load_state_dict(st["ema"])
        # the recipe's hyper-parameters (lr_g=..., betas=... on --resume) win; the state (Adam's moments) stays
        for opt, saved in ((self.opt_g, st["opt_g"]), (self.opt_d, opt_d_state)):
            recipe = [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]
            opt.load_state_dict(saved)
            for group, settings in zip(opt.param_groups, recipe):
                group.update(settings)
            match_parameter_layout(opt)
        self.step = st["step"]
        self._restore_rng(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        self.init_source = st.get("init_source")
        self.seconds_before = float(st["seconds"])
        log.info("resumed from %s at step %d", path, self.step)

    def _restore_rng(self, saved: torch.Tensor) -> None:
        """The random stream as the checkpoint left it; a checkpoint of another kind of device (a
        GPU's Philox state on the CPU, or the other way) cannot go in, so the stream is seeded from
        (seed, step) and the run goes on, close to but no longer identical with an uninterrupted one."""
        if saved.numel() == self.rng.get_state().numel():
            self.rng.set_state(saved)
            return
        self.rng.manual_seed(self.stream_seed())
        log.warning("the checkpoint's random state is of another kind of device than %s; latents and noise "
                    "go on from a stream seeded by (seed, step) instead, so this run will not repeat "
                    "an uninterrupted one exactly", self.rng.device.type)

    def _load_discriminator(self, weights: dict, opt_state: dict) -> dict:
        """Loads D strictly, except that a class head added by this recipe (model.aux_classes on
        --resume) may be missing from the checkpoint: it starts untrained. Returns the optimizer
        state to load, extended by the new head's parameters (registered last, so indices line up)."""
        missing, unexpected = self.D.load_state_dict(weights, strict=False)
        new_head = all(k.startswith("aux.") for k in missing) and not unexpected and len(self.opt_d.param_groups) == 1
        if (missing or unexpected) and not new_head:
            raise TrainingError(f"the checkpoint's discriminator does not fit the recipe: missing {missing}, "
                                f"unexpected {unexpected}; resume with the model options it was trained with")
        if not missing:
            return opt_state
        log.warning("the checkpoint has no D class head (%s): it starts untrained", ", ".join(missing))
        group = dict(opt_state["param_groups"][0], params=list(range(len(list(self.D.parameters())))))
        return {"state": opt_state["state"], "param_groups": [group]}


def match_parameter_layout(opt: torch.optim.Optimizer) -> None:
    """Gives each per-parameter state tensor (Adam's moments, SGD's momentum) its parameter's
    dtype, device and memory format. A checkpoint stores tensors contiguous; a channels_last
    parameter's moments must be channels_last too, or fused Adam refuses the step."""
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape:
                    opt.state[p][key] = torch.empty_like(p).copy_(value)


def truncate_log(path: Path, step: int) -> None:
    """Drops log lines past ``step`` (written after the last checkpoint by a run that was killed),
    and a last line cut short by the kill."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            log.warning("dropping an unreadable line of %s (a run killed while writing it): %.60r", path, line)
            continue
        if isinstance(rec, dict) and rec.get("step", step + 1) <= step:
            kept.append(line)
    path.write_text("".join(ln + "\n" for ln in kept))
