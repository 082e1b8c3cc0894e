"""ganzoo project: target | reconstruction pairs, the search as a GIF, and one-line errors."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from ganzoo.cli import main


def draw(path, points, ink=0, paper=255, size=(300, 400)):
    im = Image.new("L", size, paper)
    ImageDraw.Draw(im).line(points, fill=ink, width=14)
    im.save(path)
    return str(path)


@pytest.fixture
def seven(tmp_path):
    return draw(tmp_path / "seven.png", [(60, 60), (230, 60), (120, 350)])


@pytest.fixture
def one(tmp_path):
    return draw(tmp_path / "one.png", [(150, 40), (150, 360)], ink=255, paper=0)   # light on dark


def test_pairs_gif_and_the_class_found(tmp_path, capsys, seven):
    out, gif = tmp_path / "pairs.png", tmp_path / "search.gif"
    assert main(["project", "cgan-mnist", seven, "-o", str(out), "--gif", str(gif), "--steps", "8"]) == 0
    printed = capsys.readouterr().out
    assert f"{seven}: mse " in printed and "class 7" in printed and str(gif) in printed
    with Image.open(out) as im:
        assert im.size == (4 * (2 * 30 + 2), 4 * 32)               # one row: target | reconstruction, x4
        left, right = np.asarray(im)[8:120, 8:120], np.asarray(im)[8:120, 128:240]
        assert left.max() > 200 and right.max() > 200               # both halves hold a light digit
    with Image.open(gif) as im:
        assert im.n_frames == 9                                     # steps 0..7 and the result


def test_several_images_with_one_label(tmp_path, capsys, seven, one):
    out = tmp_path / "pairs.png"
    assert main(["project", "cgan-mnist", seven, one, "--label", "1", "-o", str(out), "--steps", "6"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("class 1") == 2
    with Image.open(out) as im:
        assert im.size == (4 * 62, 4 * (2 * 30 + 2))               # two rows


def test_unconditional_model(tmp_path, capsys, one):
    assert main(["project", "dcgan-mnist", one, "-o", str(tmp_path / "p.png"), "--steps", "4"]) == 0
    assert "class" not in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["cgan-mnist", "{dir}/missing.png"], "cannot read image '{dir}/missing.png'"),
    (["cgan-mnist", "{blank}"], "the image is empty: nothing stands out from its background"),
    (["cgan-mnist", "{seven}", "--label", "12"], "label 12 is out of range for cgan-mnist; valid: 0..9"),
    (["dcgan-mnist", "{seven}", "--label", "3"], "dcgan-mnist is unconditional and takes no labels"),
    (["cgan-mnist", "{seven}", "--steps", "0"], "steps must be an int in 1..5000, got 0"),
    (["cgan-mnist", "{seven}", "--gif", "{dir}/search.mp4"], "must end with one of .gif"),
    (["dcgan-mnst", "{seven}"], "unknown model 'dcgan-mnst'; did you mean 'dcgan-mnist'?"),
])
def test_bad_input_is_one_line(tmp_path, capsys, seven, args, message):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (100, 100), (255, 255, 255)).save(blank)
    fill = {"dir": str(tmp_path), "seven": seven, "blank": str(blank)}
    code = main(["project", *[a.format(**fill) for a in args], "-o", str(tmp_path / "p.png")])
    err = capsys.readouterr().err
    assert code == 2 and message.format(**fill) in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "p.png").exists()
