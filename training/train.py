"""Train any ganzoo family from a YAML recipe, on CPU, one GPU or several (accelerate).

    python -m training.train training/configs/dcgan-mnist.yaml
    python -m training.train training/configs/dcgan-mnist.yaml --resume
    python -m training.train training/configs/dcgan-mnist.yaml epochs=5 lr_g=1e-4 model.ngf=32
    accelerate launch --num_processes 8 -m training.train training/configs/dcgan-mnist.yaml

Writes into ``out``: config.json + model.safetensors (EMA generator when enabled) that
``ganzoo.load(out)`` reads, checkpoint.safetensors, log.jsonl, loss_curve.png,
samples/epoch_NNNN.png and interpolation.gif.

The parts, each in its own module: the recipe (config.py), the images held on the device
(data.py), one step of Algorithm 1 (step.py; graph.py replays it as a CUDA graph), the run's
state and checkpoints (state.py), and what a run leaves behind (export.py). This file is the loop.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import torch
import yaml

import ganzoo
from ganzoo.models import build_discriminator, build_generator, make_config
from training.checkpoint import CHECKPOINT_NAME
from training.config import TrainConfig, TrainingError, load_config
from training.data import load_device_data
from training.export import device_name, export_generator, plot_losses, save_interpolation, save_samples
from training.graph import CUDAGraphStep
from training.state import RunState, truncate_log
from training.step import EMA, STATS, GANStep
from training.widen import init_generator

log = logging.getLogger("ganzoo.train")
RUN_FILES = (CHECKPOINT_NAME, "model.safetensors", "log.jsonl")    # a folder holding one of these holds a run


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX-512 or AMX); elsewhere torch emulates it."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def make_accelerator(cfg: TrainConfig):
    """An Accelerator for this run. A single process may train several runs one after another
    (a notebook, the tests, a benchmark), each with its own device and precision: accelerate's
    process-wide state is reset for each; a multi-process launch keeps its own."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import AutocastKwargs

    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        AcceleratorState._reset_state(reset_partial_state=True)
    # cpu=True also when there is no GPU: only then does accelerate join the processes of a
    # multi-process CPU launch instead of running N separate runs. A CUDA graph cannot hold
    # autocast's weight cache, so it is off.
    cpu = cfg.cpu or not torch.cuda.is_available()
    return Accelerator(mixed_precision=cfg.mixed_precision, cpu=cpu,
                       kwargs_handlers=[AutocastKwargs(cache_enabled=False)] if cfg.cuda_graph and not cpu else [])


class Trainer:
    def __init__(self, cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False):
        self.cfg, self.resume, self.overwrite = cfg, resume, overwrite
        self.acc = acc = make_accelerator(cfg)
        self.device = acc.device
        if cfg.mixed_precision == "bf16" and self.device.type == "cpu" and not cpu_has_fast_bf16():
            log.warning("mixed_precision=bf16 on a CPU without bf16 instructions (%s): torch emulates bf16 "
                        "there, about 20x slower than fp32 (docs/performance.md); use mixed_precision=no on "
                        "this machine", torch.backends.cpu.get_cpu_capability())
        self.out = cfg.out_dir
        try:
            self.model_cfg = make_config(cfg.family, cfg.model)
        except ValueError as e:
            raise TrainingError(str(e)) from None
        num_classes = getattr(self.model_cfg, "num_classes", None)
        # D's class head, trained on the real labels: cgan's AC-GAN head, or dcgan's label supervision
        n_labels = num_classes or getattr(self.model_cfg, "aux_classes", 0)
        aux = cfg.aux_weight > 0 and (self.model_cfg.aux_classifier if num_classes else n_labels > 0)
        if cfg.class_entropy > 0 and (num_classes is not None or not aux):
            raise TrainingError(f"class_entropy={cfg.class_entropy} needs an unconditional model whose D has a class "
                                "head (model.aux_classes >= 2, aux_weight > 0)")
        self.data = load_device_data(cfg, self.model_cfg, n_labels, self.device, world=acc.num_processes,
                                     rank=acc.process_index)
        self.images, self.labels, self.dataset_name = self.data.images, self.data.labels, self.data.name
        self.steps_per_epoch = self.data.steps_per_epoch
        self.total_steps = cfg.epochs * self.steps_per_epoch // cfg.d_steps
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        if self.total_steps < 1:
            raise TrainingError(f"{cfg.epochs} epoch(s) of {self.steps_per_epoch} batches make no step of "
                                f"d_steps={cfg.d_steps}; raise epochs")

        torch.manual_seed(cfg.seed)                                   # weight init
        G = build_generator(cfg.family, self.model_cfg)
        init_source = None
        if cfg.init_from is not None and not (resume and (self.out / CHECKPOINT_NAME).is_file()):
            init_source = init_generator(G, cfg.init_from, family=cfg.family, seed=cfg.seed)   # a checkpoint to resume from wins
        D = build_discriminator(cfg.family, self.model_cfg)
        if cfg.channels_last:
            G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        self.use_graph = cfg.cuda_graph and self.device.type == "cuda" and acc.num_processes == 1
        G.to(self.device), D.to(self.device)
        self.ema = EMA(G, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.G, self.D, self.opt_g, self.opt_d = acc.prepare(G, D, self._optimizer(G, cfg.lr_g), self._optimizer(D, cfg.lr_d))
        self.G_fwd, self.D_fwd = (torch.compile(self.G), torch.compile(self.D)) if cfg.compile else (self.G, self.D)
        rng = torch.Generator(device=self.device)
        self.state = RunState(cfg, acc.unwrap_model(self.G), acc.unwrap_model(self.D), self.ema, self.opt_g, self.opt_d,
                              rng, process=acc.process_index, init_source=init_source)
        rng.manual_seed(self.state.stream_seed())
        self.gan_step = GANStep(cfg, G=self.G_fwd, D=self.D_fwd, opt_g=self.opt_g, opt_d=self.opt_d, ema=self.ema,
                                backward=acc.backward, latent_dim=self.model_cfg.latent_dim, num_classes=num_classes,
                                aux=aux, freeze_d=acc.num_processes == 1, unwrap=acc.unwrap_model)
        self.run_step = CUDAGraphStep(self.gan_step) if self.use_graph else self.gan_step
        self.stats = torch.zeros(len(STATS), device=self.device)      # the last step's, on the device
        if resume:
            self.state.resume(self.out)

    @property
    def step(self) -> int:
        return self.state.step

    @property
    def rng(self) -> torch.Generator:
        return self.state.rng

    def _optimizer(self, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        if self.cfg.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr, momentum=self.cfg.momentum)
        # fused: one kernel for the whole update; capturable: its step count stays on the GPU (CUDA graph)
        return torch.optim.Adam(model.parameters(), lr=lr, betas=self.cfg.betas, fused=True, capturable=self.use_graph)

    def noise_std(self) -> float:
        """Instance noise at this step: cfg.instance_noise, annealed linearly to 0."""
        cfg = self.cfg
        return cfg.instance_noise * max(0.0, 1 - self.step / max(1.0, cfg.instance_noise_steps * self.total_steps))

    def train_step(self) -> None:
        """One generator step of Algorithm 1 (training/step.py); the statistics stay on the device."""
        inputs = self.gan_step.draw(self.data, self.step, self.rng, self.noise_std())
        self.stats = self.run_step(inputs)
        self.state.step += 1

    def read_stats(self) -> dict[str, float]:
        """The last step's losses and D outputs, read back from the device; stops a diverged run."""
        values = dict(zip(STATS, self.stats.tolist()))
        for name in ("loss_d", "loss_g"):
            if not math.isfinite(values[name]) or abs(values[name]) > self.cfg.max_loss:
                raise TrainingError(
                    f"{name.replace('loss_', '').upper()} loss is {values[name]} at step {self.step}: training diverged "
                    f"(limit max_loss={self.cfg.max_loss}). The last good checkpoint is kept in "
                    f"{self.out / CHECKPOINT_NAME}; lower the learning rates, add r1_gamma or instance_noise, "
                    "and run again with --resume")
        return values

    def save_checkpoint(self) -> None:
        self.read_stats()                                              # never checkpoint a diverged run
        if self.acc.is_main_process:
            self.state.save(self.out, time.perf_counter() - self.session_start)

    def generator_for_export(self) -> ganzoo.ImageGenerator:
        return self.ema.module if self.ema is not None else self.acc.unwrap_model(self.G)

    def _claim_output(self) -> None:
        """Refuses to train from scratch over an earlier run (its checkpoint, weights and log would be lost)."""
        found = [f for f in RUN_FILES if (self.out / f).exists()]
        if found and not self.resume and not self.overwrite:
            raise TrainingError(f"{str(self.out)!r} already holds a run ({', '.join(found)}); continue it with "
                                "--resume, choose another --out, or replace it with --overwrite")
        if self.overwrite and not self.resume:
            for f in RUN_FILES:
                (self.out / f).unlink(missing_ok=True)

    def run(self) -> Path:
        from tqdm.auto import tqdm

        cfg, acc = self.cfg, self.acc
        if acc.is_main_process:
            self._claim_output()
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "train_config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
            truncate_log(self.out / "log.jsonl", self.step)
        last_epoch = math.ceil(self.total_steps * cfg.d_steps / self.steps_per_epoch)
        sample_epochs = {e if e > 0 else last_epoch + 1 + e for e in cfg.sample_epochs}
        imgs_per_step = cfg.batch_size * cfg.d_steps * acc.num_processes
        bar = tqdm(total=self.total_steps, initial=self.step, disable=not acc.is_main_process, unit="step",
                   desc=cfg.name, dynamic_ncols=True)
        self.G.train()
        self.D.train()
        t0, s0 = time.perf_counter(), self.step
        self.session_start = t0
        with open(self.out / "log.jsonl", "a") if acc.is_main_process else open(os.devnull, "w") as logf:
            while self.step < self.total_steps:
                epoch_before = self.step * cfg.d_steps // self.steps_per_epoch
                self.train_step()
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    now = time.perf_counter()
                    rec = {"step": self.step, "epoch": self.step * cfg.d_steps / self.steps_per_epoch,
                           **self.read_stats(), "images_per_s": (self.step - s0) * imgs_per_step / max(now - t0, 1e-9)}
                    if not self.gan_step.aux:
                        del rec["loss_cls"]
                    t0, s0 = now, self.step
                    logf.write(json.dumps(rec) + "\n")
                    logf.flush()
                    bar.set_postfix(loss_d=f"{rec['loss_d']:.3f}", loss_g=f"{rec['loss_g']:.3f}",
                                    img_s=f"{rec['images_per_s']:.0f}")
                epoch_after = self.step * cfg.d_steps // self.steps_per_epoch
                if acc.is_main_process:
                    for e in range(epoch_before + 1, epoch_after + 1):
                        if e in sample_epochs:
                            save_samples(self.generator_for_export(), self.out / "samples" / f"epoch_{e:04d}.png",
                                         seed=cfg.seed)
                if self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
        bar.close()
        self.save_checkpoint()
        acc.wait_for_everyone()
        if acc.is_main_process:
            if last_epoch in sample_epochs:
                save_samples(self.generator_for_export(), self.out / "samples" / f"epoch_{last_epoch:04d}.png",
                             seed=cfg.seed)
            self._export(time.perf_counter() - self.session_start)
        return self.out

    def _export(self, seconds: float) -> None:
        training = {"steps": self.step, "epochs": self.step * self.cfg.d_steps / self.steps_per_epoch, "seed": self.cfg.seed}
        if self.state.init_source is not None:
            training["init_from"] = self.state.init_source
        export_generator(self.generator_for_export(), self.out, ema=self.ema is not None, bn_batches=self.cfg.bn_batches,
                         batch_size=self.cfg.batch_size, seed=self.cfg.seed, training=training,
                         name=self.cfg.name, dataset=self.dataset_name)
        summary = {"steps": self.step, "seconds_this_session": round(seconds, 2),
                   "seconds_total": round(self.state.seconds_before + seconds, 2), "device": device_name(self.device),
                   "num_processes": self.acc.num_processes, "cuda_graph": self.use_graph, "torch": torch.__version__}
        (self.out / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        plot_losses(self.out / "log.jsonl", self.out / "loss_curve.png")
        save_interpolation(self.out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="recipe YAML, e.g. training/configs/dcgan-mnist.yaml")
    p.add_argument("overrides", nargs="*", help="key=value settings that override the recipe (model.ngf=32)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    p.add_argument("--overwrite", action="store_true", help="train from scratch over an earlier run in OUT")
    p.add_argument("--out", help="output folder (default runs/NAME)")
    args = p.parse_intermixed_args(argv)   # overrides may come before or after --out/--resume
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.config, args.overrides + ([f"out={args.out}"] if args.out else []))
        out = Trainer(cfg, resume=args.resume, overwrite=args.overwrite).run()
    except TrainingError as e:
        log.error("%s", e)
        return 2
    log.info("done: ganzoo.load(%r)", str(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
