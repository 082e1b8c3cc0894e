"""Watch a GAN learn: small GANs trained live, step by step, with everything a lecture draws.

``ToyGAN`` plays the minimax game of Goodfellow et al. (2014) on 2-D data (a ring of 8
Gaussians, a 5x5 grid, a spiral, two moons) with a small MLP G and D. It exposes what GAN Lab
(Kahng et al. 2018) shows - D's output over the plane, the direction G's loss pushes each
sample, loss and D(x) / D(G(z)) histories, modes covered - and what it lacks: the saturating
minimax loss next to the non-saturating one, hinge and WGAN-GP, and the lectures' remedies for
mode collapse. ``DigitGAN`` is the same game on 28x28 images with a zoo DCGAN or MLP GAN.

    gan = ToyGAN(**PRESETS["ring: mode collapse"], seed=0)
    gan.train(5000)
    gan.modes_covered()          # 0-1 of 8; "ring: collapse cured by minibatch std": 7-8 from the same start

One step of ``train`` is one iteration of Algorithm 1: ``d_steps`` updates of D, then one of G.
Every random draw (weights, data, latents, noise) comes from the run's seed, so a seed and the
same settings give bit-identical samples. CPU only; no gradio here (ganzoo/demo_playground.py
draws the pictures).
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

MODE_SAMPLES = 2000          # samples drawn to count modes
MODE_SHARE = 0.01            # a mode counts when at least this share of them lies near its centre


def _choice(value, valid, what: str):
    """``value`` when it is one of ``valid``, else a ValueError naming the nearest valid one."""
    if value in valid:
        return value
    near = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise ValueError(f"unknown {what} {value!r}{hint} (valid: {', '.join(map(str, valid))})")


def _number(value, what: str, lo: float, hi: float, *, integer: bool = False):
    """``value`` when it is a number in [lo, hi] (an int when ``integer``), else a ValueError."""
    kind = "an int" if integer else "a number"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if not ok or isinstance(value, bool) or not (lo <= value <= hi):
        bounds = f"[{lo}, {hi}]" if integer else f"[{lo:g}, {hi:g}]"
        raise ValueError(f"{what} must be {kind} in {bounds}, got {value!r}")
    return value


@contextlib.contextmanager
def _threads(n: int | None):
    """Run torch ops on ``n`` threads (None: leave as is), restored afterwards. The setting is the
    calling thread's own (OpenMP), so other threads of a server are not affected. The 2-D GAN's
    matrices are too small to split: on 2 busy cores a second thread made a step 13-45x slower
    (docs/playground.md)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _own_threads(method):
    """Run a method of a game on the game's ``threads`` (see _threads)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with _threads(self.threads):
            return method(self, *args, **kwargs)
    return wrapper


# ---------------------------------------------------------------------------------------------
# 2-D targets


@dataclass(frozen=True)
class Target:
    """A 2-D distribution with named parts ("modes") to count coverage against.

    For the Gaussian mixtures a mode is a component and ``radius`` is 3 standard deviations;
    for the curves (spiral, moons) a mode is one of ``len(centres)`` equal stretches of the curve
    and ``radius`` is half the distance between neighbouring centres."""
    name: str
    centres: torch.Tensor          # (M, 2)
    radius: float
    noise: float                   # std of the Gaussian noise around the centres / the curve
    extent: float                  # the plot shows [-extent, extent]^2

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n points (n, 2) drawn with ``generator``."""
        if self.name in ("ring", "grid"):
            idx = torch.randint(len(self.centres), (n,), generator=generator)
            return self.centres[idx] + self.noise * torch.randn(n, 2, generator=generator)
        t = torch.rand(n, generator=generator)
        return _curve(self.name, t) + self.noise * torch.randn(n, 2, generator=generator)


def _curve(name: str, t: torch.Tensor) -> torch.Tensor:
    """Points (len(t), 2) on the spiral or the two moons at parameters t in [0, 1]."""
    if name == "spiral":
        # r grows linearly over 1.5 turns: arc length is nearly proportional to t^2, so t = sqrt(u)
        # spreads the points evenly along the curve
        s = t.sqrt()
        angle, r = 3 * math.pi * s, 0.3 + 2.2 * s
        return torch.stack([r * angle.cos(), r * angle.sin()], dim=1)
    # two interleaved half circles (the classic "moons"), scaled to [-2.5, 2.5]
    upper = t < 0.5
    a = math.pi * torch.where(upper, 2 * t, 2 * t - 1)
    x = torch.where(upper, a.cos(), 1 - a.cos())
    y = torch.where(upper, a.sin(), 0.5 - a.sin())
    return 1.6 * torch.stack([x - 0.5, y - 0.25], dim=1)


def _curve_centres(name: str, parts: int) -> tuple[torch.Tensor, float]:
    """``parts`` centres evenly spaced along the curve and half their spacing."""
    if name == "spiral":
        dense = _curve(name, torch.linspace(0, 1, 20001))
    else:   # each moon separately, so no stretch spans the gap between them
        half = parts // 2
        upper = _curve(name, torch.linspace(0, 0.4999, 10001))
        lower = _curve(name, torch.linspace(0.5, 1, 10001))
        a, ra = _even_points(upper, half)
        b, rb = _even_points(lower, half)
        return torch.cat([a, b]), min(ra, rb)
    return _even_points(dense, parts)


def _even_points(dense: torch.Tensor, parts: int) -> tuple[torch.Tensor, float]:
    seg = (dense[1:] - dense[:-1]).norm(dim=1)
    arc = torch.cat([torch.zeros(1), seg.cumsum(0)])
    total = float(arc[-1])
    wanted = (torch.arange(parts) + 0.5) * total / parts      # the middle of each stretch
    idx = torch.searchsorted(arc, wanted).clamp(max=len(dense) - 1)
    return dense[idx], total / parts / 2


def _make_target(name: str) -> Target:
    if name == "ring":
        angles = torch.arange(8) * (2 * math.pi / 8)
        centres = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)      # radius 2
        return Target("ring", centres, 3 * 0.05, 0.05, 3.0)
    if name == "grid":
        ticks = torch.arange(-2, 3, dtype=torch.float32)                        # -2, -1, 0, 1, 2
        centres = torch.cartesian_prod(ticks, ticks)
        return Target("grid", centres, 3 * 0.05, 0.05, 3.0)
    parts = 16
    centres, radius = _curve_centres(name, parts)
    return Target(name, centres, radius, 0.05, 3.0)


TARGETS = ("ring", "grid", "spiral", "moons")


def get_target(name: str) -> Target:
    """The 2-D target called ``name`` (one of TARGETS)."""
    return _make_target(_choice(name, TARGETS, "target"))


# ---------------------------------------------------------------------------------------------
# Losses: pure functions of D's logits, each next to its formula (the same as training/losses.py,
# which the library does not import). D(x) = sigmoid(logit) for minimax and non-saturating.


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def minimax_d(real: torch.Tensor, fake: torch.Tensor, smooth: float = 0.0) -> torch.Tensor:
    # L_D = -E[log D(x)] - E[log(1 - D(G(z)))]   (one-sided smoothing: target 1 - smooth for real)
    return _bce(real, 1.0 - smooth) + _bce(fake, 0.0)


def minimax_g(fake: torch.Tensor) -> torch.Tensor:
    # L_G = E[log(1 - D(G(z)))] = -E[softplus(logit)]   (Algorithm 1: G descends this; it saturates
    # when D rejects G(z) confidently, since d/dlogit = -sigmoid(logit) -> 0)
    return -F.softplus(fake).mean()


def nonsaturating_g(fake: torch.Tensor) -> torch.Tensor:
    # L_G = -E[log D(G(z))] = E[softplus(-logit)]   (same fixed point, strong gradient early on)
    return F.softplus(-fake).mean()


def hinge_d(real: torch.Tensor, fake: torch.Tensor, smooth: float = 0.0) -> torch.Tensor:
    # L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]   (D = raw logit; smoothing lowers the margin)
    return F.relu(1.0 - smooth - real).mean() + F.relu(1.0 + fake).mean()


def critic_g(fake: torch.Tensor) -> torch.Tensor:
    # L_G = -E[D(G(z))]   (hinge and WGAN)
    return -fake.mean()


def wgan_d(real: torch.Tensor, fake: torch.Tensor, smooth: float = 0.0) -> torch.Tensor:
    # L_D = E[D(G(z))] - E[D(x)]   (critic; gradient_penalty is added for WGAN-GP)
    return fake.mean() - real.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    # GP = E[(||grad_xhat D(xhat)||_2 - 1)^2],  xhat = eps x + (1 - eps) G(z)   (Gulrajani et al. 2017)
    eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), generator=generator)
    xhat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(xhat).sum(), xhat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


LOSSES = {
    "minimax": (minimax_d, minimax_g),
    "nonsaturating": (minimax_d, nonsaturating_g),
    "hinge": (hinge_d, critic_g),
    "wgan-gp": (wgan_d, critic_g),
}
PROBABILITY_LOSSES = ("minimax", "nonsaturating")    # D's output is a probability; else a raw critic score


# ---------------------------------------------------------------------------------------------
# The game, shared by the 2-D and the image playgrounds


@dataclass
class History:
    """What happened so far, one record per update. ``*_step`` is the iteration (G updates so far)
    at which the record was taken; D(x) and D(G(z)) are mean probabilities for minimax and
    non-saturating losses and mean critic scores otherwise."""
    d_step: list[int] = field(default_factory=list)
    loss_d: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    g_step: list[int] = field(default_factory=list)
    loss_g: list[float] = field(default_factory=list)
    g_grad: list[float] = field(default_factory=list)        # mean |dL_G / dG(z)| per sample
    modes_step: list[int] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)


class _Game:
    """G, D, their optimizers and one update of each; subclasses give the data and the networks."""

    SETTINGS = ("loss", "d_steps", "lr_d", "lr_g", "label_smoothing", "instance_noise", "gp_weight")
    threads: int | None = 1     # torch threads for this game's work (None: the caller's)

    def __init__(self, G: nn.Module, D: nn.Module, *, latent_dim: int, batch_size: int, seed: int,
                 betas: tuple[float, float], rng: torch.Generator, **settings) -> None:
        self.G, self.D = G, D
        self.latent_dim, self.batch_size, self.seed = latent_dim, batch_size, seed
        self.rng = rng
        self.opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=betas, fused=True)
        self.opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=betas, fused=True)
        self.loss, self.d_steps, self.lr_d, self.lr_g = "nonsaturating", 1, 1e-3, 1e-3
        self.label_smoothing, self.instance_noise, self.gp_weight = 0.0, 0.0, 10.0
        self.step = 0                # iterations done (= G updates)
        self.d_updates = 0
        self.history = History()
        self.configure(**settings)

    def configure(self, **settings) -> None:
        """Change settings, also in the middle of a run (the networks and optimizer state are kept).

        loss: one of LOSSES; d_steps: D updates per iteration (k of Algorithm 1), 1..10; lr_d, lr_g:
        Adam learning rates in (0, 0.1]; label_smoothing: one-sided, real target 1 - s, s in [0, 0.5];
        instance_noise: std of Gaussian noise added to every input of D, in [0, 2]; gp_weight: WGAN-GP
        penalty weight in [0, 100]. Anything else is a ValueError listing the valid names."""
        unknown = sorted(set(settings) - set(self.SETTINGS))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; valid: {', '.join(self.SETTINGS)}")
        new = {n: settings.get(n, getattr(self, n)) for n in self.SETTINGS}
        _choice(new["loss"], tuple(LOSSES), "loss")
        _number(new["d_steps"], "d_steps", 1, 10, integer=True)
        for name in ("lr_d", "lr_g"):
            _number(new[name], name, 1e-6, 0.1)
        _number(new["label_smoothing"], "label_smoothing", 0, 0.5)
        _number(new["instance_noise"], "instance_noise", 0, 2)
        _number(new["gp_weight"], "gp_weight", 0, 100)
        if new["label_smoothing"] and new["loss"] == "wgan-gp":
            raise ValueError("label_smoothing needs a loss with a real target (minimax, nonsaturating, hinge); "
                             "WGAN-GP's critic has none: set label_smoothing=0")
        for name, value in new.items():
            setattr(self, name, value)
        for group in self.opt_d.param_groups:
            group["lr"] = self.lr_d
        for group in self.opt_g.param_groups:
            group["lr"] = self.lr_g

    @property
    def settings(self) -> dict:
        return {n: getattr(self, n) for n in self.SETTINGS}

    # data and noise, every draw from the run's generator
    def real_batch(self, n: int) -> torch.Tensor:
        raise NotImplementedError

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=self.rng)

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        # instance noise (Sønderby et al. 2016): D sees real and fake blurred alike, so their supports overlap
        if not self.instance_noise:
            return x
        return x + self.instance_noise * torch.randn(x.shape, generator=self.rng)

    def _d_output(self, logits: torch.Tensor) -> float:
        """Mean D output as the plots show it: a probability, or the raw critic score."""
        return float(torch.sigmoid(logits).mean() if self.loss in PROBABILITY_LOSSES else logits.mean())

    @_own_threads
    def step_d(self) -> float:
        """One update of D on a fresh batch of data and of G(z); returns D's loss. G is unchanged."""
        return self._step_d()

    @_own_threads
    def step_g(self) -> float:
        """One update of G against the current D; returns G's loss. D is unchanged."""
        return self._step_g()

    @_own_threads
    def train(self, steps: int) -> None:
        """``steps`` iterations of Algorithm 1: d_steps updates of D, then one of G."""
        _number(steps, "steps", 0, 10**7, integer=True)
        for _ in range(steps):
            for _ in range(self.d_steps):
                self._step_d()
            self._step_g()

    def _step_d(self) -> float:
        d_loss_fn, _ = LOSSES[self.loss]
        with torch.no_grad():
            fake = self.G(self.latents(self.batch_size))
        real = self._noisy(self.real_batch(self.batch_size))
        fake = self._noisy(fake)
        real_logits, fake_logits = self._judge_pair(real, fake)
        loss = d_loss_fn(real_logits, fake_logits, self.label_smoothing)
        if self.loss == "wgan-gp":
            loss = loss + self.gp_weight * gradient_penalty(self.D, real, fake, self.rng)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self.d_updates += 1
        h = self.history
        h.d_step.append(self.step)
        h.loss_d.append(loss.detach().item())
        h.d_real.append(self._d_output(real_logits.detach()))
        h.d_fake.append(self._d_output(fake_logits.detach()))
        return h.loss_d[-1]

    def _step_g(self) -> float:
        _, g_loss_fn = LOSSES[self.loss]
        fake = self.G(self.latents(self.batch_size))
        fake.retain_grad()
        self.D.requires_grad_(False)       # D's weights need no gradient here
        try:
            loss = g_loss_fn(self.D(self._noisy(fake)))
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            self.D.requires_grad_(True)
        self.opt_g.step()
        self.step += 1
        h = self.history
        h.g_step.append(self.step)
        h.loss_g.append(loss.detach().item())
        # the gradient of the batch mean, times the batch size: each sample's own push
        h.g_grad.append((fake.grad.flatten(1).norm(dim=1).mean() * fake.shape[0]).item())
        self._after_step()
        return h.loss_g[-1]

    def _after_step(self) -> None:
        """Called after every G update."""

    def _judge_pair(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits on a real and a fake batch, each judged as a batch of its own."""
        return self.D(real), self.D(fake)

    @_own_threads
    @torch.no_grad()
    def sample(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """n samples of G from latents drawn with ``seed`` (default: the run's seed); the training
        stream is not touched, so the same seed shows the same latents at every step."""
        _number(n, "n", 1, 100_000, integer=True)
        g = torch.Generator().manual_seed(self.seed if seed is None else seed)
        return self.G(torch.randn(n, self.latent_dim, generator=g))


def _seeded(seed) -> torch.Generator:
    _number(seed, "seed", 0, 2**63 - 1, integer=True)
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# 2-D


class ToyD(nn.Module):
    """(B, 2) -> logits (B,): an MLP whose second layer also sees one minibatch feature, the mean
    over hidden units of their std over the batch (Karras et al. 2018; 0 when switched off, so that
    the weights are the same with and without it and a run can switch it on midway)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2))
        self.body = nn.Sequential(nn.Linear(hidden + 1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
        self.minibatch_std = False
        self.fixed_std: torch.Tensor | None = None   # set to judge single points as members of some batch

    def batch_std(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        return (h.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()

    def forward(self, x: torch.Tensor, groups: int = 1) -> torch.Tensor:
        """x (B, 2) -> logits (B,); with ``groups`` the batch is that many equal batches, each with its
        own minibatch std (one pass for D's real and fake batches)."""
        h = self.inp(x)                                                     # (B, hidden)
        if not self.minibatch_std:
            std = h.new_zeros(h.shape[0], 1)
        elif self.fixed_std is not None:
            std = self.fixed_std.expand(h.shape[0], 1)
        else:
            g = h.view(groups, -1, h.shape[1])                              # (groups, B / groups, hidden)
            # sqrt(var + eps): a finite gradient where the batch agrees exactly
            std = (g.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1)  # (groups,)
            std = std.repeat_interleave(g.shape[1])[:, None]                 # (B, 1)
        return self.body(torch.cat([h, std], dim=1)).squeeze(1)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers[:-1])


class ToyGAN(_Game):
    """A small MLP GAN on a 2-D target.

    target: one of TARGETS; loss: one of LOSSES; d_steps: k, D updates per iteration; lr_d, lr_g:
    Adam learning rates (beta1 0.5); seed: weights, data, latents and noise all come from it.
    Remedies for mode collapse: minibatch_std (D sees the batch's spread), instance_noise (std of
    noise on D's inputs), label_smoothing (one-sided), d_steps > 1, lr_d != lr_g (two time scales).
    The networks' shapes do not depend on loss or remedies, so the same seed is the same start.
    """

    SETTINGS = _Game.SETTINGS + ("minibatch_std",)

    def __init__(self, target: str = "ring", loss: str = "nonsaturating", *, d_steps: int = 1,
                 lr_d: float = 1e-3, lr_g: float = 1e-3, seed: int = 0, minibatch_std: bool = False,
                 instance_noise: float = 0.0, label_smoothing: float = 0.0, gp_weight: float = 10.0,
                 batch_size: int = 128, hidden: int = 64, latent_dim: int = 16, eval_every: int = 100) -> None:
        self.target = get_target(target)
        _number(batch_size, "batch_size", 2, 4096, integer=True)
        _number(hidden, "hidden", 4, 1024, integer=True)
        _number(latent_dim, "latent_dim", 1, 256, integer=True)
        self.eval_every = _number(eval_every, "eval_every", 1, 10**6, integer=True)
        rng = _seeded(seed)
        with torch.random.fork_rng(devices=[]):     # weights from the seed, without touching torch's global stream
            torch.manual_seed(seed)
            G = _mlp([latent_dim, hidden, hidden, hidden, 2])
            D = ToyD(hidden)
        self.minibatch_std = False
        super().__init__(G, D, latent_dim=latent_dim, batch_size=batch_size, seed=seed, betas=(0.5, 0.999),
                         rng=rng, loss=loss, d_steps=d_steps, lr_d=lr_d, lr_g=lr_g, minibatch_std=minibatch_std,
                         instance_noise=instance_noise, label_smoothing=label_smoothing, gp_weight=gp_weight)

    def configure(self, **settings) -> None:
        if "minibatch_std" in settings and not isinstance(settings["minibatch_std"], bool):
            raise ValueError(f"minibatch_std must be True or False, got {settings['minibatch_std']!r}")
        super().configure(**settings)
        self.D.minibatch_std = self.minibatch_std

    def real_batch(self, n: int) -> torch.Tensor:
        return self.target.sample(n, self.rng)

    def _judge_pair(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # one pass through D for both batches: a third fewer operations per iteration
        logits = self.D(torch.cat([real, fake]), groups=2)
        return logits[:real.shape[0]], logits[real.shape[0]:]

    def _after_step(self) -> None:
        if self.step % self.eval_every == 0:
            self.record_modes()

    def record_modes(self) -> int:
        """Count the modes covered now and add the count to the history (once per iteration)."""
        covered = self.modes_covered()
        h = self.history
        if h.modes_step and h.modes_step[-1] == self.step:
            h.modes[-1] = covered
        else:
            h.modes_step.append(self.step)
            h.modes.append(covered)
        return covered

    @_own_threads
    def mode_shares(self, n: int = MODE_SAMPLES) -> torch.Tensor:
        """(M,) the share of n samples (the run's seed) within ``target.radius`` of each mode's centre."""
        x = self.sample(n)
        dist2 = (x[:, None, :] - self.target.centres[None]).pow(2).sum(dim=2)   # (n, M)
        return (dist2 <= self.target.radius ** 2).float().mean(dim=0)

    def modes_covered(self, n: int = MODE_SAMPLES) -> int:
        """How many of the target's modes hold at least 1% of n samples within 3 std of their centre."""
        return int((self.mode_shares(n) >= MODE_SHARE).sum())

    @property
    def num_modes(self) -> int:
        return len(self.target.centres)

    def _judge_points(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits on single points, each judged as a member of a batch of G's current samples
        (minibatch std is a property of a batch, not of a point)."""
        if self.D.minibatch_std:
            self.D.fixed_std = self.D.batch_std(self.sample(self.batch_size))
        try:
            return self.D(x)
        finally:
            self.D.fixed_std = None

    @_own_threads
    @torch.no_grad()
    def d_surface(self, size: int = 64) -> torch.Tensor:
        """D's output on a size x size grid over [-extent, extent]^2, (size, size), row 0 at the top
        (y = +extent): probabilities in [0, 1] for minimax / non-saturating, raw critic scores otherwise."""
        _number(size, "size", 2, 1024, integer=True)
        e = self.target.extent
        ticks = torch.linspace(-e, e, size)
        yy, xx = torch.meshgrid(ticks.flip(0), ticks, indexing="ij")
        logits = self._judge_points(torch.stack([xx.flatten(), yy.flatten()], dim=1)).view(size, size)
        return torch.sigmoid(logits) if self.loss in PROBABILITY_LOSSES else logits

    @_own_threads
    def g_gradients(self, n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """(samples (n, 2), push (n, 2)): G's samples (the run's seed) and -dL_G/dG(z) for each, the
        direction and strength with which G's loss moves it (per sample, not divided by n)."""
        x = self.sample(n).requires_grad_(True)
        _, g_loss_fn = LOSSES[self.loss]
        self.D.requires_grad_(False)
        try:
            (grad,) = torch.autograd.grad(g_loss_fn(self.D(x)) * n, x)
        finally:
            self.D.requires_grad_(True)
        return x.detach(), -grad


# ---------------------------------------------------------------------------------------------
# Digits


DIGIT_FAMILIES = {
    # small enough to take ~10-25 steps a second on 2 cores, big enough to draw digits within minutes
    "dcgan": {"latent_dim": 32, "ngf": 16, "ndf": 16},
    "vanilla": {"latent_dim": 32, "hidden_dim": 64},
}


class DigitGAN(_Game):
    """A small zoo GAN (``family`` one of DIGIT_FAMILIES) trained live on 28x28 grey images.

    images: (N, 1, 28, 28), uint8 in [0, 255] or float in [0, 1]. The settings are those of ToyGAN
    (loss, d_steps, lrs, label_smoothing, instance_noise, gp_weight); minibatch_std is a D layer
    here (fixed at construction)."""

    def __init__(self, images: torch.Tensor, *, family: str = "dcgan", loss: str = "nonsaturating",
                 d_steps: int = 1, lr_d: float = 2e-4, lr_g: float = 2e-4, seed: int = 0,
                 minibatch_std: bool = False, instance_noise: float = 0.0, label_smoothing: float = 0.0,
                 gp_weight: float = 10.0, batch_size: int = 64) -> None:
        from .models import build_discriminator, build_generator, make_config

        if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28) or images.shape[0] < 1:
            raise ValueError(f"images must have shape (N, 1, 28, 28), got {tuple(images.shape)}")
        self.images = images.float() / 255 if images.dtype == torch.uint8 else images.float()
        self.family = _choice(family, tuple(DIGIT_FAMILIES), "family")
        _number(batch_size, "batch_size", 2, 1024, integer=True)
        options = dict(DIGIT_FAMILIES[family])
        if minibatch_std:
            if family != "dcgan":
                raise ValueError("minibatch_std is a DCGAN discriminator layer: use family='dcgan'")
            options["minibatch_std"] = True
        config = make_config(family, options)
        rng = _seeded(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            G, D = build_generator(family, config), build_discriminator(family, config)
        G.train(), D.train()
        super().__init__(G, D, latent_dim=config.latent_dim, batch_size=batch_size, seed=seed, betas=(0.5, 0.999),
                         rng=rng, loss=loss, d_steps=d_steps, lr_d=lr_d, lr_g=lr_g, instance_noise=instance_noise,
                         label_smoothing=label_smoothing, gp_weight=gp_weight)

    def real_batch(self, n: int) -> torch.Tensor:
        idx = torch.randint(self.images.shape[0], (n,), generator=self.rng)
        return self.images[idx]                                               # (n, 1, 28, 28) in [0, 1]

    def sample(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """n images (n, 1, 28, 28) in [0, 1] (eval mode: batch norm uses its running statistics)."""
        self.G.eval()
        try:
            return super().sample(n, seed=seed).clamp(0, 1)
        finally:
            self.G.train()


# ---------------------------------------------------------------------------------------------
# Presets: each a keyword set for ToyGAN (add seed=...). "ring: mode collapse" and the remedies
# that follow it share every shape, so a seed is the same start for all of them.

PRESETS: dict[str, dict] = {
    # G learns 10x faster than D: G's samples chase D's current favourite spot, all of them together
    "ring: mode collapse": dict(target="ring", loss="nonsaturating", lr_d=1e-4, lr_g=1e-3),
    # the same, but D sees each batch's spread: a batch sitting on one spot is easy to reject
    "ring: collapse cured by minibatch std": dict(target="ring", loss="nonsaturating", lr_d=1e-4, lr_g=1e-3,
                                                  minibatch_std=True),
    # the same, but D as fast as G
    "ring: collapse cured by a faster D": dict(target="ring", loss="nonsaturating", lr_d=1e-3, lr_g=1e-3),
    # Algorithm 1 with k = 5 and a D 10x faster: D rejects G's samples at once, and minimax's
    # log(1 - D(G(z))) then hardly moves them (compare with non-saturating from the same start)
    "ring: saturation (D wins early, k = 5)": dict(target="ring", loss="minimax", d_steps=5, lr_d=1e-3, lr_g=1e-4),
    "ring: WGAN-GP": dict(target="ring", loss="wgan-gp", d_steps=5, lr_d=1e-3, lr_g=1e-3),
    # 25 sharp modes come slowly to a 16-D latent (0-8 covered after 5,000 steps, at most 15 after
    # 10,000); a 2-D latent, as in GAN Lab, unfolds onto the grid (20 of 25 after 10,000 steps)
    "grid: 2-D latent + minibatch std": dict(target="grid", loss="nonsaturating", latent_dim=2, minibatch_std=True),
    "spiral: hinge": dict(target="spiral", loss="hinge"),
    "moons: non-saturating": dict(target="moons", loss="nonsaturating"),
}


def get_preset(name: str) -> dict:
    """A copy of the preset called ``name`` (one of PRESETS)."""
    return dict(PRESETS[_choice(name, tuple(PRESETS), "preset")])
