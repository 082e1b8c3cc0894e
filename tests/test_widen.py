"""Net2WiderNet: a wider generator that starts from a trained narrow one draws the same images."""
import pytest
import torch

from tests.conftest import TINY, tiny_generator
from training.widen import WidenError, widen

WIDTH = {"vanilla": "hidden_dim", "dcgan": "ngf", "cgan": "ngf"}


def draw(g, train: bool) -> torch.Tensor:
    g.train(train)
    z = torch.randn(64, g.latent_dim, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(64) % g.num_classes if g.num_classes else None
    with torch.no_grad():
        return g(z, labels) if labels is not None else g(z)


@pytest.mark.parametrize("factor", [2, 3])
@pytest.mark.parametrize("family", list(TINY))
def test_the_wider_generator_draws_the_same_images(family, factor):
    src = tiny_generator(family)
    src.train()
    draw(src, train=True)                       # batch-norm statistics of its own, not the initial ones
    wide = tiny_generator(family, seed=1, **{WIDTH[family]: TINY[family][WIDTH[family]] * factor})
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(p.numel() for p in src.parameters())
    widen(src, wide, generator=torch.Generator().manual_seed(0))
    for train in (False, True):                 # eval: running statistics; train: the batch's own
        assert torch.allclose(draw(wide, train), draw(src, train), atol=1e-5)


def test_the_copies_of_a_unit_are_split_apart_so_they_learn_differently():
    src = tiny_generator("dcgan")
    wide, plain = (tiny_generator("dcgan", ngf=16) for _ in range(2))
    widen(src, wide, generator=torch.Generator().manual_seed(0))
    widen(src, plain, noise=0)
    w, p = wide.net[3].weight, plain.net[3].weight      # the second ConvTranspose2d: (in, out, 4, 4)
    n = src.net[3].weight.shape[0]                      # units of the first block, each copied twice
    assert torch.equal(p[:n], p[n:])                    # without noise the two copies' weights are the same
    assert not torch.allclose(w[:n], w[n:])
    assert torch.allclose(w[:n] + w[n:], p[:n] * 2, atol=1e-6)   # and with it they sum to the same
    for g in (wide, plain):
        x = g(torch.randn(8, 8)).sum()
        g.zero_grad()
        x.backward()
    first = wide.net[0].weight.grad                     # ConvTranspose2d (in, out, 7, 7)
    assert not torch.allclose(first[:, :n], first[:, n:])
    assert torch.allclose(plain.net[0].weight.grad[:, :n], plain.net[0].weight.grad[:, n:])


@pytest.mark.parametrize("overrides,match", [
    ({"ngf": 12}, r"net\.0: 16 -> 24 units is not a whole multiple"),
    ({"ngf": 4}, r"net\.0: 16 -> 8 units is not a whole multiple"),
    ({"channels": 3}, r"output layer net\.\d+ would widen; only hidden layers can"),
    ({"latent_dim": 16, "ngf": 16}, r"net\.0: input size 8 -> 16; only hidden layers can widen"),
    ({"extra_layers": 1, "ngf": 16}, "not the same architecture"),
])
def test_what_cannot_be_widened(overrides, match):
    with pytest.raises(WidenError, match=match):
        widen(tiny_generator("dcgan"), tiny_generator("dcgan", **overrides))
