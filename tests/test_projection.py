"""ganzoo.project and the preparation of people's images: centring, inversion, strokes, errors,
and projections that find a model's own samples and held-out digits."""
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import ganzoo
from ganzoo.metrics import embed, heldout_split, load_evaluator
from ganzoo.projection import (
    MAX_PIXELS,
    centre_of_mass,
    is_dark_on_light,
    prepare_image,
    stroke_width,
)
from tests.conftest import REPO, tiny_generator

MNIST = REPO.parent / "shared" / "data" / "mnist-10k"


@pytest.fixture(scope="module")
def heldout():
    """The first 10 of the 2,000 mnist-10k digits held out from the evaluator (float, labels)."""
    from ganzoo.data import load_dataset
    if not MNIST.is_dir():
        pytest.skip(f"{MNIST} is not on this machine")
    ds = load_dataset(MNIST)
    _, idx = heldout_split(len(ds))
    return ds.images[idx[:10]].float() / 255, ds.labels[idx[:10]]


def seven(size=(640, 480), at=(380, 40), width=10, ink=0, paper=255, mode="L") -> Image.Image:
    """A '7' drawn off-centre on a large canvas."""
    im = Image.new(mode, size, paper if mode == "L" else (paper,) * len(mode))
    x, y = at
    ImageDraw.Draw(im).line([(x, y), (x + 150, y), (x + 60, y + 260)], fill=ink if mode == "L" else (ink,) * len(mode),
                            width=width)
    return im


# ---- preparation ---------------------------------------------------------------------------------
def test_off_centre_drawing_is_centred_like_mnist():
    x = prepare_image(seven())
    assert x.shape == (28, 28) and x.max() == pytest.approx(1.0, abs=0.05)
    r, c = centre_of_mass(x)
    assert abs(r - 14) <= 1 and abs(c - 14) <= 1
    rows, cols = np.flatnonzero(x.any(1)), np.flatnonzero(x.any(0))
    assert rows[-1] - rows[0] + 1 in (20, 21, 22) and cols[-1] - cols[0] + 1 <= 21   # box scaled to 20 (+ blur)


def test_dark_on_light_and_light_on_dark_give_the_same_digit():
    dark_on_light, light_on_dark = seven(), seven(ink=255, paper=0)
    assert is_dark_on_light(np.asarray(dark_on_light) / 255.0)
    assert not is_dark_on_light(np.asarray(light_on_dark) / 255.0)
    a, b = prepare_image(dark_on_light), prepare_image(light_on_dark)
    assert np.abs(a - b).max() < 0.02
    # a grey pencil on off-white paper, in colour: the same digit again
    rgb = Image.new("RGB", (640, 480), (235, 230, 220))
    ImageDraw.Draw(rgb).line([(380, 40), (530, 40), (440, 300)], fill=(90, 90, 110), width=10)
    assert np.abs(prepare_image(rgb) - a).mean() < 0.01


def test_strokes_on_a_transparent_canvas_read_as_strokes():
    rgba = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).line([(380, 40), (530, 40), (440, 300)], fill=(0, 0, 0, 255), width=10)
    assert np.abs(prepare_image(rgba) - prepare_image(seven())).mean() < 0.01


def test_a_real_digit_comes_back_nearly_unchanged(heldout):
    images, _ = heldout
    for d in images[:5, 0].numpy():
        x = prepare_image(Image.fromarray((d * 255).round().astype(np.uint8)))
        assert ((x - d) ** 2).mean() < 0.004


def test_thin_and_fat_strokes_are_brought_to_mnist_width():
    thin, fat = prepare_image(seven(width=3, size=(1200, 1000))), prepare_image(seven(width=60))
    for x in (thin, fat):
        assert 2.0 <= stroke_width(x) <= 4.0, stroke_width(x)


def test_fashion_style_fills_the_frame():
    im = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(im).rectangle([(100, 50), (180, 170)], fill=40)              # a dark bag on white
    x = prepare_image(im, style="fashion")
    rows, cols = np.flatnonzero(x.any(1)), np.flatnonzero(x.any(0))
    assert rows[0] == 0 and rows[-1] == 27                                     # tall side fills 28
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 0.5                         # centred


def test_arrays_and_files_are_accepted(tmp_path):
    path = tmp_path / "seven.png"
    seven().save(path)
    from_file = prepare_image(path)
    from_array = prepare_image(np.asarray(seven()).astype(np.float32) / 255)
    assert np.abs(from_file - from_array).max() < 1e-6


# ---- bad input: a clear ValueError naming the value ------------------------------------------------
def huge_png(path, side: int) -> None:
    """A PNG header claiming side x side pixels (the data is never read)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))


def test_bad_images_are_clear_errors(tmp_path):
    g = ganzoo.load("dcgan-mnist")
    (tmp_path / "notes.png").write_text("not an image")
    huge_png(tmp_path / "huge.png", 7_000)
    huge_png(tmp_path / "bomb.png", 20_000)
    seven().save(tmp_path / "cut.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "cut.png").read_bytes()[:200])
    cases = [
        (tmp_path / "missing.png", "cannot read image .*missing.png"),
        (tmp_path / "notes.png", "cannot read image .*notes.png"),
        (tmp_path / "cut.png", "cannot read image .*cut.png"),
        (tmp_path / "huge.png", f"huge.png' is 7000x7000 = 49,000,000 pixels; at most {MAX_PIXELS:,}"),
        (tmp_path / "bomb.png", f"bomb.png' is far too large .*400000000 pixels.*; at most {MAX_PIXELS:,}"),
        (Image.new("L", (300, 300), 255), r"the image is empty: nothing stands out .*contrast 0.000"),
        (np.zeros((5, 5, 2)), r"must be \(H, W\) or \(H, W, 1\|3\|4\), got shape \(5, 5, 2\)"),
        (np.full((5, 5), 2.0), r"values in \[0, 1\], got \[2, 2\]"),
        (torch.rand(2, 1, 32, 32), r"shape \(N, 1, 28, 28\).*got \(2, 1, 32, 32\)"),
        (torch.full((1, 1, 28, 28), 1.5), r"must lie in \[0, 1\], got \[1.5, 1.5\]"),
        (torch.full((1, 1, 28, 28), float("nan")), "with NaN or inf"),
        ([], "no images given"),
        (42, "must be a path, a PIL image or a numpy array, got int"),
    ]
    for images, message in cases:
        with pytest.raises(ValueError, match=message):
            ganzoo.project(g, images, steps=2)


def test_bad_options_are_clear_errors():
    g, c = ganzoo.load("dcgan-mnist"), ganzoo.load("cgan-mnist")
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 8:20, 12:15] = 1
    for model, kwargs, message in [
        (c, {"labels": 10}, r"label 10 is out of range for cgan-mnist; valid: 0..9"),
        (c, {"labels": [1, 2]}, "got 2 labels for 1 images"),
        (g, {"labels": 3}, "dcgan-mnist is unconditional and takes no labels"),
        (g, {"steps": 0}, r"steps must be an int in 1..5000, got 0"),
        (g, {"restarts": 100}, r"restarts must be an int in 1..64, got 100"),
        (g, {"seed": -1}, r"seed must be an int in \[0, 2\*\*63\), got -1"),
        (g, {"evaluator": "cifar"}, "unknown evaluator 'cifar'; valid: fashion, mnist"),
        (g, {"record_every": -2}, "record_every must be an int >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            ganzoo.project(model, x, steps=kwargs.pop("steps", 2), **kwargs)


# ---- projections ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ganzoo.list_models())
def test_every_zoo_model_finds_its_own_samples(name):
    g = ganzoo.load(name)
    own = g.sample(4, seed=11)
    result = ganzoo.project(g, own)
    assert result.latents.shape == (4, g.latent_dim) and result.images.shape == own.shape
    assert result.loss.shape == (4,) and torch.equal(result.targets, own)
    assert float(result.mse.median()) < 0.006, result.mse          # held-out digits: 0.007-0.017 on average
    assert torch.allclose(result.images, g.generate(result.latents, result.labels))
    assert (result.labels is None) == (g.num_classes is None)


def test_held_out_digits_are_drawn_as_the_right_class(heldout):
    images, labels = heldout
    result = ganzoo.project(ganzoo.load("dcgan-mnist"), images, steps=30)
    pred = embed(load_evaluator("mnist"), result.images).pred
    assert int((pred == labels).sum()) >= 9, (pred, labels)
    assert float(result.mse.mean()) < 0.02


def test_cgan_finds_the_class_of_held_out_digits(heldout):
    images, labels = heldout
    result = ganzoo.project(ganzoo.load("cgan-mnist"), images, steps=30)
    assert int((result.labels == labels).sum()) >= 9, (result.labels, labels)
    given = ganzoo.project(ganzoo.load("cgan-mnist"), images[:3], labels=[1, 2, 3], steps=10)
    assert given.labels.tolist() == [1, 2, 3]


def test_a_drawing_is_found_as_a_seven():
    c = ganzoo.load("cgan-mnist")
    result = ganzoo.project(c, [seven(), seven(ink=255, paper=0, mode="RGB")], steps=30)
    assert result.labels.tolist() == [7, 7]
    assert float(result.mse.max()) < 0.03


def test_same_seed_same_result_and_batch_mates_do_not_matter(heldout):
    images, _ = heldout
    g = ganzoo.load("dcgan-mnist")
    a = ganzoo.project(g, images[:3], steps=8, seed=4)
    b = ganzoo.project(g, images[:3], steps=8, seed=4)
    assert torch.equal(a.latents, b.latents) and torch.equal(a.images, b.images)
    alone = ganzoo.project(g, images[1:2], steps=8, seed=4)
    assert torch.allclose(alone.images, a.images[1:2], atol=1e-3)
    other = ganzoo.project(g, images[:3], steps=8, seed=5)
    assert not torch.equal(other.latents, a.latents)


def test_frames_record_the_search():
    g = ganzoo.load("vanilla-mnist")
    result = ganzoo.project(g, g.sample(2, seed=1), steps=20, record_every=5)
    assert result.frames.shape == (5, 2, 1, 28, 28)                         # steps 0, 5, 10, 15 and the end
    assert torch.equal(result.frames[-1], result.images)
    first, last = [(f - result.targets).pow(2).mean() for f in (result.frames[0], result.frames[-1])]
    assert last < first


def test_a_model_outside_the_zoo_uses_pixels_only():
    g = tiny_generator("dcgan")
    result = ganzoo.project(g, g.sample(2, seed=0), steps=10)
    assert result.latents.shape == (2, 8) and result.images.shape == (2, 1, 28, 28)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_projection_on_another_kind_of_device():
    """On a GPU: the same search, results on the CPU, as good as the CPU's."""
    cpu, gpu = ganzoo.load("cgan-mnist"), ganzoo.load("cgan-mnist", device="cuda")
    own, labels = cpu.sample(4, labels=[3, 5, 7, 9], seed=2), torch.tensor([3, 5, 7, 9])
    a, b = ganzoo.project(cpu, own, steps=30), ganzoo.project(gpu, own, steps=30)
    assert b.latents.device.type == "cpu" and b.images.device.type == "cpu"
    assert torch.equal(b.labels, labels) and torch.equal(a.labels, labels)
    assert abs(float(b.mse.mean()) - float(a.mse.mean())) < 0.003
