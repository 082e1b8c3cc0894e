"""Each loss against its formula on known logits."""
import math

import pytest
import torch

from training import losses

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.0])


def sig(x):
    return 1 / (1 + math.exp(-x))


def mean(values):
    return sum(values) / len(values)


def test_minimax_d_is_negative_value_function():
    # V = E[log D(x)] + E[log(1 - D(G(z)))];  L_D = -V
    v = mean([math.log(sig(r)) for r in REAL]) + mean([math.log(1 - sig(f)) for f in FAKE])
    assert losses.minimax_d(REAL, FAKE).item() == pytest.approx(-v, rel=1e-6)


def test_one_sided_label_smoothing():
    s = 0.1
    expect = mean([-(1 - s) * math.log(sig(r)) - s * math.log(1 - sig(r)) for r in REAL]) \
        + mean([-math.log(1 - sig(f)) for f in FAKE])
    assert losses.minimax_d(REAL, FAKE, smooth=s).item() == pytest.approx(expect, rel=1e-6)


def test_generator_losses():
    assert losses.minimax_g(FAKE).item() == pytest.approx(mean([math.log(1 - sig(f)) for f in FAKE]), rel=1e-6)
    assert losses.nonsaturating_g(FAKE).item() == pytest.approx(mean([-math.log(sig(f)) for f in FAKE]), rel=1e-6)
    assert losses.hinge_g(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))
    assert losses.wgan_g(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))


def test_hinge_and_wgan_d():
    expect = mean([max(0, 1 - r) for r in REAL.tolist()]) + mean([max(0, 1 + f) for f in FAKE.tolist()])
    assert losses.hinge_d(REAL, FAKE).item() == pytest.approx(expect)
    assert losses.wgan_d(REAL, FAKE).item() == pytest.approx(mean(FAKE.tolist()) - mean(REAL.tolist()))


def test_optimal_discriminator_value_is_minus_log_4():
    # with p_g = p_data the best D outputs 1/2 everywhere (logit 0) and V = -log 4
    zeros = torch.zeros(5)
    assert losses.minimax_d(zeros, zeros).item() == pytest.approx(math.log(4))


def test_nonsaturating_gradient_is_strong_where_minimax_saturates():
    f = torch.tensor([-8.0], requires_grad=True)     # D confidently rejects G(z)
    (g_ns,) = torch.autograd.grad(losses.nonsaturating_g(f), f)
    (g_mm,) = torch.autograd.grad(losses.minimax_g(f), f)
    assert abs(g_ns.item()) > 0.99 and abs(g_mm.item()) < 1e-3


def test_gradient_penalty_and_r1_on_a_linear_critic():
    w = torch.tensor([3.0, 4.0])                      # ||grad|| = 5 everywhere

    def critic(x, labels=None):
        return x.flatten(1) @ w

    real = torch.randn(6, 1, 1, 2)
    fake = torch.randn(6, 1, 1, 2)
    assert losses.gradient_penalty(critic, real, fake).item() == pytest.approx((5 - 1) ** 2)
    x = real.clone().requires_grad_(True)
    assert losses.r1_penalty(critic(x), x).item() == pytest.approx(25.0)


def test_class_entropy_rewards_clear_classes_used_evenly():
    k, big = 4, 50.0
    undecided = torch.zeros(8, k)                                   # every sample p = 1/K
    one_class = torch.zeros(8, k).index_fill_(1, torch.tensor([2]), big)   # all confidently class 2
    spread = torch.eye(k).repeat(2, 1) * big                       # confident, each class twice
    assert losses.class_entropy_g(undecided).item() == pytest.approx(math.log(k) - math.log(k), abs=1e-6)
    assert losses.class_entropy_g(one_class).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.class_entropy_g(spread).item() == pytest.approx(-math.log(k), abs=1e-6)
    half = torch.tensor([[0.0, 0.0], [0.0, math.log(3.0)]])          # p = (1/2, 1/2) and (1/4, 3/4)
    h = lambda *p: -sum(q * math.log(q) for q in p)                # noqa: E731
    expected = (h(0.5, 0.5) + h(0.25, 0.75)) / 2 - h(0.375, 0.625)
    assert losses.class_entropy_g(half).item() == pytest.approx(expected, abs=1e-6)


def test_registry_of_losses():
    assert set(losses.LOSSES) == {"minimax", "nonsaturating", "hinge", "wgan-gp"}
