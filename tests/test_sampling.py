"""Sampling, labels, latents and interpolation."""
import pytest
import torch

import ganzoo
from ganzoo.models.base import MAX_SAMPLES_PER_CALL, SAMPLE_CHUNK
from tests.conftest import tiny_generator


def test_same_seed_same_images_other_seed_different():
    g = tiny_generator("dcgan")
    a, b, c = g.sample(6, seed=3), g.sample(6, seed=3), g.sample(6, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_generator_argument_matches_seed():
    g = tiny_generator("dcgan")
    gen = torch.Generator().manual_seed(11)
    assert torch.equal(g.sample(5, generator=gen), g.sample(5, seed=11))
    with pytest.raises(ValueError, match="either seed or generator"):
        g.sample(2, seed=1, generator=torch.Generator())


def test_latents_and_forward_reproduce_sample():
    g = tiny_generator("dcgan")
    z = g.latents(4, seed=5)
    assert z.shape == (4, 8)
    with torch.inference_mode():
        direct = g(z).clamp(0, 1)
    assert torch.allclose(direct, g.sample(4, seed=5))


def test_batching_does_not_change_results():
    g = tiny_generator("vanilla")
    n = SAMPLE_CHUNK + 7
    big = g.sample(n, seed=2)
    z = g.latents(n, seed=2)
    assert torch.allclose(big[-7:], g.generate(z[-7:]), atol=1e-6)


def test_sampling_needs_eval_mode_and_keeps_batchnorm_stats():
    g = tiny_generator("dcgan")
    stats = g.net[1].running_mean.clone()
    g.sample(8, seed=0)
    assert torch.equal(stats, g.net[1].running_mean)
    g.train()
    with pytest.raises(RuntimeError, match="call .eval\\(\\) before sampling"):
        g.sample(2, seed=0)


@pytest.mark.parametrize("labels", [7, [7, 7, 7], torch.tensor([7, 7, 7])])
def test_label_forms(labels):
    g = tiny_generator("cgan")
    assert torch.equal(g.sample(3, labels=labels, seed=0), g.sample(3, labels=[7, 7, 7], seed=0))


def test_labels_change_conditional_samples_and_default_labels_come_from_seed():
    g = tiny_generator("cgan")
    assert not torch.equal(g.sample(3, labels=1, seed=0), g.sample(3, labels=2, seed=0))
    assert torch.equal(g.sample(5, seed=9), g.sample(5, seed=9))


@pytest.mark.parametrize("family,kwargs,match", [
    ("cgan", {"labels": 10}, "label 10 is out of range for .*; valid: 0..9 or a name"),
    ("cgan", {"labels": -1}, "label -1 is out of range"),
    ("cgan", {"labels": 10**20}, "label 100000000000000000000 is out of range"),
    ("cgan", {"labels": [1, 2]}, "got 2 labels for 3 images"),
    ("cgan", {"labels": 1.5}, "labels must be an int, a class name, or a list or 1-d tensor of them; got float"),
    ("cgan", {"labels": {"a": 1}}, "labels must be an int, a class name, .*got dict"),
    ("cgan", {"labels": "seven"}, "unknown label 'seven' for .*; valid: 0..9 or a name \\(0, 1, 2"),
    ("cgan", {"labels": torch.zeros(3, 1, dtype=torch.long)}, "0-d or 1-d integer tensor .* shape \\(3, 1\\)"),
    ("cgan", {"labels": torch.tensor([0.0, 1.0, 2.0])}, "integer tensor .* got dtype torch.float32"),
    ("dcgan", {"labels": 1}, "unconditional and takes no labels"),
    ("dcgan", {"seed": -1}, "seed must be an int"),
])
def test_bad_sampling_input(family, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_generator(family).sample(3, **kwargs)


@pytest.mark.parametrize("n", [0, -1, MAX_SAMPLES_PER_CALL + 1, 2.0])
def test_bad_counts(n):
    with pytest.raises(ValueError, match=f"n must be an int in 1..{MAX_SAMPLES_PER_CALL}"):
        tiny_generator("dcgan").sample(n)


@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_interpolation_end_frames_are_the_seed_samples(method):
    g = tiny_generator("dcgan")
    frames = ganzoo.interpolate(g, start=3, end=8, steps=7, method=method)
    assert frames.shape == (7, 1, 28, 28) and frames.min() >= 0 and frames.max() <= 1
    # equal up to float rounding: a batch of 7 and a batch of 1 take different conv paths
    assert torch.allclose(frames[0], g.sample(1, seed=3)[0], atol=1e-5)
    assert torch.allclose(frames[-1], g.sample(1, seed=8)[0], atol=1e-5)


def test_conditional_interpolation_end_frames_match_samples():
    g = tiny_generator("cgan")
    frames = ganzoo.interpolate(g, start=3, end=8, steps=5, labels=4)
    assert torch.allclose(frames[0], g.sample(1, labels=4, seed=3)[0], atol=1e-5)
    walk = ganzoo.interpolate(g, start=3, end=8, steps=5)          # label drawn by start's seed
    assert torch.allclose(walk[0], g.sample(1, seed=3)[0], atol=1e-5)


def test_slerp_keeps_norm_and_lerp_is_straight():
    a, b = torch.randn(64, generator=torch.Generator().manual_seed(0)), torch.randn(64, generator=torch.Generator().manual_seed(1))
    b = b / b.norm() * a.norm()
    t = torch.linspace(0, 1, 9)
    s = ganzoo.slerp(a, b, t)
    assert torch.allclose(s.norm(dim=1), a.norm().expand(9), rtol=1e-5)
    assert torch.allclose(s[0], a) and torch.allclose(s[-1], b, atol=1e-5)
    mid = ganzoo.lerp(a, b, t)[4]
    assert torch.allclose(mid, (a + b) / 2) and mid.norm() < a.norm()


def test_slerp_follows_the_great_circle():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = ganzoo.slerp(a, b, torch.tensor([0.5]))[0]
    assert torch.allclose(mid, torch.tensor([2 ** -0.5, 2 ** -0.5]))


def test_interpolation_accepts_latent_vectors():
    g = tiny_generator("dcgan")
    za, zb = g.latents(2, seed=0)
    frames = ganzoo.interpolate(g, start=za, end=zb, steps=3, method="lerp")
    assert torch.allclose(frames[0], g.generate(za[None])[0], atol=1e-5)


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "cubic"}, "unknown interpolation method 'cubic'; valid: slerp, lerp"),
    ({"steps": 1}, "steps must be an int in 2..1024"),
    ({"start": torch.zeros(3)}, "start latent has 3 values; this model's latent_dim is 8"),
])
def test_bad_interpolation_input(kwargs, match):
    args = {"start": 0, "end": 1, "steps": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        ganzoo.interpolate(tiny_generator("dcgan"), **args)


def test_labels_by_name_or_digit_string_equal_labels_by_index():
    g = tiny_generator("cgan")
    g.class_names = [f"class {i}" for i in range(10)]
    assert torch.equal(g.sample(3, labels="class 7", seed=0), g.sample(3, labels=7, seed=0))
    assert torch.equal(g.sample(2, labels=["7", "class 1"], seed=0), g.sample(2, labels=[7, 1], seed=0))
    assert g.label_names[3] == "class 3" and g.label_index(" class 3 ") == 3


def test_generate_takes_lists_and_arrays_and_refuses_bad_latents():
    g = tiny_generator("dcgan")
    z = g.latents(3, seed=1)
    assert torch.equal(g.generate(z.tolist()), g.generate(z)) and torch.equal(g.generate(z.numpy()), g.generate(z))
    bad = [(torch.full((2, 8), float("nan")), "NaN or infinite"), (torch.zeros(2, 3), "shape \\(n, 8\\)"),
           ("text", "float tensor of shape \\(n, 8\\), got str"),
           (torch.zeros(MAX_SAMPLES_PER_CALL + 1, 8), f"number of latents must be an int in 1..{MAX_SAMPLES_PER_CALL}")]
    for value, match in bad:
        with pytest.raises(ValueError, match=match):
            g.generate(value)
    with pytest.raises(ValueError, match="label 99 is out of range"):
        tiny_generator("cgan").generate(torch.zeros(2, 8), 99)


def test_generator_with_nan_weights_says_so_instead_of_drawing_nan():
    g = tiny_generator("dcgan")
    with torch.no_grad():
        next(g.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="produced NaN images: its weights hold NaN"):
        g.sample(2, seed=0)


def test_interpolation_from_a_zero_latent_is_finite():
    g = tiny_generator("dcgan")
    frames = ganzoo.interpolate(g, start=torch.zeros(8), end=1, steps=5)
    assert torch.isfinite(frames).all() and torch.allclose(frames[-1], g.sample(1, seed=1)[0], atol=1e-6)
