"""The three families: shapes, ranges, config validation, every layer wired."""
import pytest
import torch

import ganzoo
from ganzoo.models import FAMILIES, build_discriminator, make_config
from tests.conftest import TINY, tiny_generator


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3)])
def test_generator_and_discriminator_shapes(family, size, channels):
    if family == "vanilla" and size != 28:
        channels = 1
    cfg = make_config(family, {**TINY[family], "image_size": size, "channels": channels})
    torch.manual_seed(0)
    g = ganzoo.build_generator(family, cfg).eval()
    d = build_discriminator(family, cfg)
    labels = torch.tensor([0, 3, 9]) if g.num_classes else None
    x = g.sample(3, labels=labels, seed=0)
    assert x.shape == (3, channels, size, size)
    assert x.min() >= 0 and x.max() <= 1 and x.std() > 0
    logits = d(x, labels)
    assert logits.shape == (3,) and torch.isfinite(logits).all()


def test_vanilla_follows_lecture_recipe():
    g = ganzoo.build_generator("vanilla", make_config("vanilla", {}))
    linears = [m for m in g.net if isinstance(m, torch.nn.Linear)]
    bns = [m for m in g.net if isinstance(m, torch.nn.BatchNorm1d)]
    assert g.latent_dim == 64 and [l.out_features for l in linears] == [128, 256, 512, 1024, 784]
    assert len(bns) == 4 and isinstance(g.net[-1], torch.nn.Sigmoid)
    d = build_discriminator("vanilla", make_config("vanilla", {}))
    assert [l.out_features for l in d.net if isinstance(l, torch.nn.Linear)] == [512, 256, 128, 1]
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in d.net) == 3


def test_dcgan_has_no_pooling_and_no_hidden_fc():
    cfg = make_config("dcgan", {})
    for model in (ganzoo.build_generator("dcgan", cfg), build_discriminator("dcgan", cfg)):
        kinds = {type(m) for m in model.modules()}
        assert not kinds & {torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.Linear}


def test_conditional_discriminator_uses_the_label():
    torch.manual_seed(0)
    d = build_discriminator("cgan", make_config("cgan", TINY["cgan"])).eval()
    x = torch.rand(4, 1, 28, 28)
    a = d(x, torch.zeros(4, dtype=torch.long))
    b = d(x, torch.full((4,), 5))
    assert not torch.allclose(a, b)
    logits, cls = d(x, torch.zeros(4, dtype=torch.long), with_classes=True)
    assert torch.equal(logits, a) and cls.shape == (4, 10)


def test_dcgan_class_head_leaves_the_real_fake_logit_alone():
    torch.manual_seed(0)
    plain = build_discriminator("dcgan", make_config("dcgan", TINY["dcgan"])).eval()
    torch.manual_seed(0)
    d = build_discriminator("dcgan", make_config("dcgan", {**TINY["dcgan"], "aux_classes": 10})).eval()
    assert list(d.state_dict())[-2:] == ["aux.weight", "aux.bias"]     # last: resume extends the optimizer
    x = torch.rand(4, 1, 28, 28)
    logits, cls = d(x, with_classes=True)
    assert torch.equal(logits, plain(x)) and torch.equal(d(x), logits) and cls.shape == (4, 10)
    assert plain(x, with_classes=True)[1] is None
    g = ganzoo.build_generator("dcgan", make_config("dcgan", {**TINY["dcgan"], "aux_classes": 10}))
    assert g.num_classes is None and not any("aux" in k for k in g.state_dict())


def test_minibatch_std_gradient_is_finite_on_identical_batch():
    d = build_discriminator("dcgan", make_config("dcgan", {**TINY["dcgan"], "minibatch_std": True}))
    x = torch.full((4, 1, 28, 28), 0.5, requires_grad=True)
    d(x).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("family,options,match", [
    ("dcgan", {"image_size": 30}, "image_size 30 is not supported; choose one of \\[28, 32, 64\\]"),
    ("dcgan", {"channels": 2}, "channels must be 1 .* or 3"),
    ("dcgan", {"bogus": 1}, "unknown dcgan config option\\(s\\) \\['bogus'\\]; valid options"),
    ("cgan", {"num_classes": 1}, "num_classes must be an int in 2..1000"),
    ("dcgan", {"aux_classes": 1}, "aux_classes must be 0 \\(no class head\\) or an int >= 2, got 1"),
    ("vanilla", {"hidden_dim": 0}, "hidden_dim must be an int in 1..4096, got 0"),
    ("gan", {}, "unknown model family 'gan'; did you mean"),
])
def test_bad_configs_name_the_value_and_choices(family, options, match):
    with pytest.raises(ValueError, match=match):
        make_config(family, options)


def test_generator_attributes():
    g = tiny_generator("cgan")
    assert (g.latent_dim, g.num_classes, g.image_shape) == (8, 10, (1, 28, 28))
    assert tiny_generator("dcgan").num_classes is None
