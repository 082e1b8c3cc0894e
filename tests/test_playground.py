"""ganzoo.playground: 2-D targets, the losses, the game's steps, determinism, mode counting and the
presets' collapse and cure (seed 0 here; seeds 0-4 in the slow test)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import make_digits
from ganzoo import playground as pg


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights (batch-norm running statistics are not weights: they follow every forward pass)."""
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- targets and mode counting ---------------------------------------------------------------

@pytest.mark.parametrize("name, modes", [("ring", 8), ("grid", 25), ("spiral", 16), ("moons", 16)])
def test_target_samples_cover_every_mode(name, modes):
    target = pg.get_target(name)
    x = target.sample(4000, torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and x.abs().max() < target.extent
    near = torch.cdist(x, target.centres) <= target.radius
    assert len(target.centres) == modes
    # the data itself covers every mode by the playground's rule (>= 1% of samples within reach)
    assert (near.float().mean(0) >= pg.MODE_SHARE).all()


def test_ring_is_eight_gaussians_of_radius_two():
    ring = pg.get_target("ring")
    assert torch.allclose(ring.centres.norm(dim=1), torch.full((8,), 2.0))
    assert ring.radius == pytest.approx(3 * ring.noise)
    x = ring.sample(20000, torch.Generator().manual_seed(1))
    nearest = torch.cdist(x, ring.centres).min(dim=1).values
    # 2-D Gaussian: the distance to the centre is Rayleigh, P(r <= 3 sigma) = 1 - exp(-4.5) = 0.989
    assert (nearest <= ring.radius).float().mean() == pytest.approx(1 - math.exp(-4.5), abs=0.005)


def test_modes_covered_counts_modes_holding_one_percent(monkeypatch):
    gan = pg.ToyGAN("ring", seed=0)
    centres = gan.target.centres
    far = torch.full((2000, 2), 10.0)

    def fake_sample(points):
        monkeypatch.setattr(gan, "sample", lambda n, seed=None: points)

    pts = far.clone()
    pts[:20] = centres[0]            # exactly 1%: counts
    pts[20:39] = centres[1]          # 19 of 2,000: does not
    pts[100:600] = centres[2] + torch.tensor([0.0, 0.9 * gan.target.radius])   # inside 3 std
    pts[600:900] = centres[3] + torch.tensor([1.1 * gan.target.radius, 0.0])   # outside
    fake_sample(pts)
    assert gan.modes_covered() == 2
    assert gan.mode_shares().tolist()[:4] == pytest.approx([0.01, 0.0095, 0.25, 0.0])


# --- losses ------------------------------------------------------------------------------------

def test_losses_follow_their_formulas():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.2, 1.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    assert pg.minimax_d(real, fake) == pytest.approx(float(-(d_real.log().mean() + (1 - d_fake).log().mean())))
    # Algorithm 1: G descends E[log(1 - D(G(z)))]
    assert pg.minimax_g(fake) == pytest.approx(float((1 - d_fake).log().mean()))
    assert pg.nonsaturating_g(fake) == pytest.approx(float(-d_fake.log().mean()))
    assert pg.minimax_d(real, fake, 0.1) == pytest.approx(float(
        F.binary_cross_entropy(d_real, torch.full((3,), 0.9)) - (1 - d_fake).log().mean()))
    assert pg.hinge_d(real, fake) == pytest.approx(float(F.relu(1 - real).mean() + F.relu(1 + fake).mean()))
    assert pg.critic_g(fake) == pytest.approx(0.6)          # -mean(-3, 0.2, 1)
    assert pg.wgan_d(real, fake) == pytest.approx(float(fake.mean() - real.mean()))


def test_minimax_saturates_where_nonsaturating_does_not():
    # D rejects G(z) confidently: logit -6, D(G(z)) = 0.0025
    logit = torch.tensor([-6.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(pg.minimax_g(logit), logit)
    (g_ns,) = torch.autograd.grad(pg.nonsaturating_g(logit), logit)
    assert abs(float(g_minimax)) == pytest.approx(float(torch.sigmoid(torch.tensor(-6.0))))
    assert abs(float(g_ns)) == pytest.approx(1 - float(torch.sigmoid(torch.tensor(-6.0))))
    assert abs(float(g_ns)) > 300 * abs(float(g_minimax))


def test_gradient_penalty_of_a_linear_critic():
    a = torch.tensor([3.0, 4.0])                      # |grad| = 5 everywhere
    x, y = torch.randn(16, 2), torch.randn(16, 2)
    gp = pg.gradient_penalty(lambda t: t @ a, x, y, torch.Generator().manual_seed(0))
    assert float(gp) == pytest.approx((5 - 1) ** 2)


# --- the game ----------------------------------------------------------------------------------

def test_step_d_changes_only_d_and_step_g_only_g():
    gan = pg.ToyGAN("ring", seed=0)
    g0, d0 = params(gan.G), params(gan.D)
    gan.step_d()
    g1, d1 = params(gan.G), params(gan.D)
    assert same(g0, g1) and not same(d0, d1)
    assert (gan.step, gan.d_updates) == (0, 1)
    gan.step_g()
    g2, d2 = params(gan.G), params(gan.D)
    assert not same(g1, g2) and same(d1, d2)
    assert (gan.step, gan.d_updates) == (1, 1)
    assert gan.history.d_step == [0] and gan.history.g_step == [1]


def test_train_runs_k_d_steps_per_iteration():
    gan = pg.ToyGAN("grid", "hinge", d_steps=3, seed=0, eval_every=5)
    gan.train(10)
    assert (gan.step, gan.d_updates) == (10, 30)
    h = gan.history
    assert len(h.loss_d) == len(h.d_real) == len(h.d_fake) == 30 and len(h.loss_g) == len(h.g_grad) == 10
    assert h.d_step[:4] == [0, 0, 0, 1]
    assert h.modes_step == [5, 10] and all(0 <= m <= 25 for m in h.modes)


def test_same_seed_same_samples_bit_for_bit():
    def run(seed, **kw):
        gan = pg.ToyGAN("spiral", seed=seed, minibatch_std=True, instance_noise=0.1, **kw)
        gan.train(30)
        return gan.sample(500)

    a, b = run(3), run(3)
    assert torch.equal(a, b)
    assert not torch.equal(a, run(4))
    assert not torch.equal(a, run(3, lr_g=3e-4))


def test_the_game_runs_on_one_thread_and_gives_the_callers_back():
    before = torch.get_num_threads()
    gan = pg.ToyGAN(seed=0)
    seen = []
    gan.G.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    gan.train(2)
    assert set(seen) == {1}
    assert torch.get_num_threads() == before


def test_sample_shape_and_seed_do_not_touch_training_stream():
    gan = pg.ToyGAN("moons", seed=0)
    x = gan.sample(7)
    assert x.shape == (7, 2) and x.dtype == torch.float32
    assert torch.equal(gan.sample(7), x) and not torch.equal(gan.sample(7, seed=1), x)
    other = pg.ToyGAN("moons", seed=0)
    gan.sample(100)
    gan.train(5), other.train(5)
    assert torch.equal(gan.sample(50), other.sample(50))


def test_wgan_gp_and_label_smoothing_train():
    gan = pg.ToyGAN("ring", "wgan-gp", d_steps=2, seed=0)
    gan.train(3)
    assert all(math.isfinite(v) for v in gan.history.loss_d)
    smooth = pg.ToyGAN("ring", "nonsaturating", label_smoothing=0.2, seed=0)
    plain = pg.ToyGAN("ring", "nonsaturating", seed=0)
    assert smooth.step_d() != pytest.approx(plain.step_d())


def test_remedies_share_the_start():
    a = pg.ToyGAN(**pg.PRESETS["ring: mode collapse"], seed=2)
    b = pg.ToyGAN(**pg.PRESETS["ring: collapse cured by minibatch std"], seed=2)
    c = pg.ToyGAN("ring", "wgan-gp", d_steps=5, instance_noise=0.3, seed=2)
    assert same(params(a.G), params(b.G)) and same(params(a.D), params(b.D)) and same(params(a.G), params(c.G))
    assert not same(params(a.G), params(pg.ToyGAN(seed=3).G))


def test_configure_mid_run():
    gan = pg.ToyGAN("ring", seed=0)
    gan.train(5)
    gan.configure(lr_d=3e-4, loss="minimax", d_steps=2, minibatch_std=True)
    assert gan.opt_d.param_groups[0]["lr"] == 3e-4 and gan.opt_g.param_groups[0]["lr"] == 1e-3
    assert gan.D.minibatch_std and gan.step == 5
    gan.train(2)
    assert (gan.step, gan.d_updates) == (7, 9)


def test_visual_state():
    gan = pg.ToyGAN("ring", seed=0, minibatch_std=True)
    gan.train(20)
    surface = gan.d_surface(16)
    assert surface.shape == (16, 16) and 0 <= float(surface.min()) <= float(surface.max()) <= 1
    pts, push = gan.g_gradients(40)
    assert pts.shape == push.shape == (40, 2) and torch.equal(pts, gan.sample(40))
    assert float(push.norm(dim=1).mean()) > 0
    gan.configure(loss="wgan-gp")
    assert gan.d_surface(4).abs().max() > 0        # raw critic scores now, not probabilities


def test_minimax_pushes_less_than_nonsaturating_from_the_same_start():
    """The lecture's point: once D rejects G's samples, log(1 - D(G(z))) hardly moves them."""
    pushes = {}
    for loss in ("minimax", "nonsaturating"):
        gan = pg.ToyGAN("ring", loss, seed=0)
        for _ in range(100):
            gan.step_d()
        assert gan.history.d_fake[-1] < 0.1          # D has learned to reject the start
        pushes[loss] = float(gan.g_gradients(256)[1].norm(dim=1).median())
    assert pushes["nonsaturating"] > 10 * pushes["minimax"]


def test_saturation_preset_stalls_minimax_but_not_nonsaturating():
    preset = pg.get_preset("ring: saturation (D wins early, k = 5)")
    assert preset["loss"] == "minimax"
    gans = {loss: pg.ToyGAN(**{**preset, "loss": loss}, seed=0) for loss in ("minimax", "nonsaturating")}
    for gan in gans.values():
        gan.train(100)
    minimax, ns = gans["minimax"].history, gans["nonsaturating"].history
    assert minimax.d_fake[-1] < 0.01                   # D rejects G's samples...
    assert ns.g_grad[-1] > 100 * minimax.g_grad[-1]    # ...and only the non-saturating loss still pushes them


@pytest.mark.parametrize("kwargs, words", [
    (dict(target="rng"), ["'rng'", "did you mean 'ring'", "grid"]),
    (dict(loss="wgan"), ["'wgan'", "wgan-gp", "minimax"]),
    (dict(d_steps=0), ["d_steps", "0", "[1, 10]"]),
    (dict(d_steps=2.0), ["d_steps", "2.0"]),
    (dict(lr_d=-1e-3), ["lr_d", "-0.001"]),
    (dict(instance_noise=5), ["instance_noise", "5"]),
    (dict(minibatch_std="yes"), ["minibatch_std", "'yes'"]),
    (dict(seed=-1), ["seed", "-1"]),
    (dict(loss="wgan-gp", label_smoothing=0.1), ["label_smoothing", "WGAN-GP"]),
])
def test_bad_settings_name_the_value_and_the_choices(kwargs, words):
    with pytest.raises(ValueError) as e:
        pg.ToyGAN(**kwargs)
    for w in words:
        assert w in str(e.value)


def test_bad_configure_and_preset():
    gan = pg.ToyGAN(seed=0)
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['lr'\]; valid: loss, d_steps"):
        gan.configure(lr=1e-3)
    with pytest.raises(ValueError, match="lr_g"):
        gan.configure(lr_g=0)
    assert gan.lr_g == 1e-3                           # a rejected change changes nothing
    with pytest.raises(ValueError, match="did you mean 'ring: mode collapse'"):
        pg.get_preset("ring: mode colapse")
    with pytest.raises(ValueError, match="steps"):
        gan.train(-1)


def test_presets_are_valid_keyword_sets():
    assert any("collapse" in name for name in pg.PRESETS)
    for name in pg.PRESETS:
        gan = pg.ToyGAN(**pg.get_preset(name), seed=0)
        gan.train(2)
        assert gan.step == 2


# --- the presets' facts ------------------------------------------------------------------------

COLLAPSE, CURE = "ring: mode collapse", "ring: collapse cured by minibatch std"


def modes_after_5000(name: str, seed: int) -> int:
    gan = pg.ToyGAN(**pg.PRESETS[name], seed=seed, eval_every=5000)
    gan.train(5000)
    return gan.modes_covered()


def test_collapse_preset_collapses_and_the_remedy_covers_seed_0():
    assert modes_after_5000(COLLAPSE, 0) <= 3
    assert modes_after_5000(CURE, 0) >= 7


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_collapse_preset_collapses_and_the_remedy_covers(seed):
    assert modes_after_5000(COLLAPSE, seed) <= 3
    assert modes_after_5000(CURE, seed) >= 7


# --- digits ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    images, _ = make_digits(128)
    return torch.from_numpy(images)[:, None]           # uint8 (128, 1, 28, 28)


@pytest.mark.parametrize("family", ["dcgan", "vanilla"])
def test_digit_gan_steps_and_samples(digits, family):
    gan = pg.DigitGAN(digits, family=family, batch_size=8, seed=0)
    g0, d0 = params(gan.G), params(gan.D)
    gan.step_d()
    assert same(g0, params(gan.G)) and not same(d0, params(gan.D))
    d1 = params(gan.D)
    gan.step_g()
    assert not same(g0, params(gan.G)) and same(d1, params(gan.D))
    x = gan.sample(5)
    assert x.shape == (5, 1, 28, 28) and 0 <= float(x.min()) <= float(x.max()) <= 1
    assert gan.G.training                               # sampling does not leave G in eval mode


def test_digit_gan_is_deterministic(digits):
    def run():
        gan = pg.DigitGAN(digits, batch_size=8, seed=5, instance_noise=0.1)
        gan.train(3)
        return gan.sample(4)
    assert torch.equal(run(), run())


def test_digit_gan_bad_input(digits):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\), got \(128, 28, 28\)"):
        pg.DigitGAN(digits[:, 0])
    with pytest.raises(ValueError, match="'cgan'.*dcgan, vanilla"):
        pg.DigitGAN(digits, family="cgan")
    with pytest.raises(ValueError, match="minibatch_std.*dcgan"):
        pg.DigitGAN(digits, family="vanilla", minibatch_std=True)
