"""One generator step of Algorithm 1: k discriminator updates, one generator update, the EMA.

The losses, R1, WGAN-GP, instance noise, top-k, D's class head and the CatGAN term are combined
here and nowhere else, as stylegan2-ada's loss.py does. The step is split in two:

- ``GANStep.draw`` draws everything random (batches, latents, labels, noise) from the run's
  stream into a ``StepInputs``;
- ``GANStep.__call__`` is a function of those inputs and the networks' state alone: no host
  synchronisation, no branch on a tensor's value. It returns the step's statistics as one
  tensor on the device, read back only when the loop logs them.

So the same step runs eagerly (CPU, fallback) or replayed as one CUDA graph (training/graph.py).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from training.config import TrainConfig
from training.data import DeviceData
from training.losses import LOSSES, class_entropy_g, gradient_penalty, r1_penalty

STATS = ("loss_d", "loss_g", "d_real", "d_fake", "loss_cls")   # the rows of a step's statistics tensor


@dataclass
class StepInputs:
    """Everything random in one generator step; lists hold one entry per discriminator update."""
    reals: list[torch.Tensor]                    # (B, C, H, W) in [0, 1]
    real_labels: list[torch.Tensor | None]       # (B,)
    z: list[torch.Tensor]                        # (B, latent_dim)
    fake_labels: list[torch.Tensor | None]       # (B,)
    real_noise: list[torch.Tensor | None]        # N(0, I) like reals, scaled by sigma in the step
    fake_noise: list[torch.Tensor | None]
    gp_eps: list[torch.Tensor | None]            # (B, 1, 1, 1) ~ U(0, 1), wgan-gp only
    g_noise: torch.Tensor | None                 # instance noise of G's step
    sigma: torch.Tensor                          # () instance-noise std at this step

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor, in a fixed order (a CUDA graph's static inputs are copied in this order)."""
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            out += [t for t in (v if isinstance(v, list) else [v]) if t is not None]
        return out


class EMA(nn.Module):
    """Exponential moving average of G's parameters and buffers, W_ema <- decay W_ema + (1 - decay) W.

    Keeps AveragedModel's state-dict layout (``module.*``, ``n_averaged``), so checkpoints load
    either way. The first update copies G, as AveragedModel does; after it, an update is a
    foreach lerp with no host synchronisation, which a CUDA graph can hold.
    """

    def __init__(self, model: nn.Module, decay: float):
        super().__init__()
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", torch.tensor(0, dtype=torch.long, device=next(model.parameters()).device))
        self.decay = decay
        self._copied = False

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        pairs = list(zip([*self.module.parameters(), *self.module.buffers()], [*model.parameters(), *model.buffers()]))
        floats = [(e, m) for e, m in pairs if e.is_floating_point()]
        if not self._copied:
            for e, m in pairs:
                e.copy_(m)
            self._copied = True
        else:
            torch._foreach_lerp_([e for e, _ in floats], [m for _, m in floats], 1 - self.decay)
            for e, m in pairs:
                if not e.is_floating_point():
                    e.copy_(m)
        self.n_averaged += 1

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self._copied = int(self.n_averaged) > 0
        return result


class GANStep:
    """The step as a function of ``StepInputs`` (see the module docstring)."""

    def __init__(self, cfg: TrainConfig, *, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, ema: EMA | None, backward: Callable[[torch.Tensor], None],
                 latent_dim: int, num_classes: int | None, aux: bool, freeze_d: bool, unwrap: Callable = lambda m: m):
        self.cfg, self.G, self.D, self.opt_g, self.opt_d, self.ema = cfg, G, D, opt_g, opt_d, ema
        self.backward, self.unwrap = backward, unwrap
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.conditional = num_classes is not None
        self.aux = aux                      # D has a class head, trained on the real labels
        self.freeze_d = freeze_d            # skip D's weight gradients in G's step (not under DDP)
        self.d_loss, self.g_loss = LOSSES[cfg.loss]

    def draw(self, data: DeviceData, step: int, rng: torch.Generator, sigma: float) -> StepInputs:
        """The random inputs of generator step ``step`` from the run's stream ``rng`` (on the device)."""
        cfg, noise = self.cfg, self.cfg.instance_noise > 0
        inp = StepInputs([], [], [], [], [], [], [], None, torch.tensor(sigma, device=rng.device))
        for j in range(cfg.d_steps):
            x, y = data.batch(step * cfg.d_steps + j)
            B, dev = x.shape[0], x.device
            inp.reals.append(x)
            inp.real_labels.append(y)
            inp.z.append(torch.randn(B, self.latent_dim, device=dev, generator=rng))
            inp.fake_labels.append(torch.randint(0, self.num_classes, (B,), device=dev, generator=rng)
                                   if self.conditional else None)
            inp.real_noise.append(torch.randn(x.shape, device=dev, generator=rng) if noise else None)
            inp.fake_noise.append(torch.randn(x.shape, device=dev, generator=rng) if noise else None)
            inp.gp_eps.append(torch.rand(B, 1, 1, 1, device=dev, generator=rng) if cfg.loss == "wgan-gp" else None)
        if noise:
            inp.g_noise = torch.randn(inp.reals[-1].shape, device=inp.reals[-1].device, generator=rng)
        return inp

    def _d(self, x: torch.Tensor, y: torch.Tensor | None, with_classes: bool):
        """D's (logits (B,), class logits (B, K) or None)."""
        if with_classes:
            return self.D(x, y, with_classes=True)
        return self.D(x, y), None

    def __call__(self, inp: StepInputs) -> torch.Tensor:
        """Runs the step in place on G, D, their optimizers and the EMA; returns STATS as a (5,) tensor."""
        cfg, sigma = self.cfg, inp.sigma
        zero = torch.zeros((), device=sigma.device)
        loss_cls = zero
        for j in range(cfg.d_steps):
            x, y, z, y_fake = inp.reals[j], inp.real_labels[j], inp.z[j], inp.fake_labels[j]
            with torch.set_grad_enabled(j == cfg.d_steps - 1):     # the last fake batch is reused by G's step
                fake = self.G(z, y_fake)
            fake_d = fake.detach()
            if inp.real_noise[j] is not None:                       # instance noise (Sonderby et al. 2016)
                x = x + sigma * inp.real_noise[j]
                fake_d = fake_d + sigma * inp.fake_noise[j]
            if cfg.r1_gamma > 0:
                x = x.detach().requires_grad_(True)
            real_logits, real_cls = self._d(x, y, self.aux)
            fake_logits, _ = self._d(fake_d, y_fake, False)
            # L_D of the loss (training/losses.py), on D's logits
            loss_d = self.d_loss(real_logits.float(), fake_logits.float(), smooth=cfg.label_smoothing)
            if self.aux:                                            # D's class head on real images
                loss_cls = F.cross_entropy(real_cls.float(), y)
                loss_d = loss_d + cfg.aux_weight * loss_cls
            if cfg.loss == "wgan-gp":
                loss_d = loss_d + cfg.gp_weight * gradient_penalty(self.D, x.detach(), fake_d, y_fake if y is None else y,
                                                                   eps=inp.gp_eps[j])
            if cfg.r1_gamma > 0:                                    # + gamma/2 E||grad_x D(x)||^2
                loss_d = loss_d + cfg.r1_gamma / 2 * r1_penalty(real_logits, x)
            self.opt_d.zero_grad(set_to_none=True)
            self.backward(loss_d)
            self.opt_d.step()

        if self.freeze_d:
            self.D.requires_grad_(False)
        fake_g = fake if inp.g_noise is None else fake + sigma * inp.g_noise
        with_classes = self.aux and (self.conditional or cfg.class_entropy > 0)
        logits_g, cls_g = self._d(fake_g, y_fake, with_classes)
        # top-k: G learns only from the fakes D finds most realistic (Sinha et al. 2020)
        top = logits_g if cfg.top_k == 1 else logits_g.topk(max(1, round(cfg.top_k * logits_g.shape[0]))).values
        loss_g = self.g_loss(top.float())
        if self.aux and self.conditional:                           # AC-GAN: G's images must show their class
            loss_g = loss_g + cfg.aux_weight * F.cross_entropy(cls_g.float(), y_fake)
        elif cfg.class_entropy > 0:                                 # CatGAN: clear classes, used evenly
            loss_g = loss_g + cfg.class_entropy * class_entropy_g(cls_g)
        self.opt_g.zero_grad(set_to_none=True)
        self.backward(loss_g)
        self.opt_g.step()
        if self.freeze_d:
            self.D.requires_grad_(True)
        if self.ema is not None:
            self.ema.update(self.unwrap(self.G))
        d_real = torch.sigmoid(real_logits.detach().float()).mean()
        d_fake = torch.sigmoid(fake_logits.detach().float()).mean()
        return torch.stack([loss_d.detach().float(), loss_g.detach().float(), d_real, d_fake, loss_cls.detach().float()])
