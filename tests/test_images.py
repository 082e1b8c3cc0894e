"""Grids and GIFs."""
import pytest
import torch
from PIL import Image

import ganzoo


def test_make_grid_layout_and_values():
    images = torch.zeros(5, 1, 4, 4)
    images[2] = 1.0
    grid = ganzoo.make_grid(images, nrow=3, padding=1)
    assert grid.size == (3 * 5 + 1, 2 * 5 + 1) and grid.mode == "L"
    px = grid.load()
    assert px[1 + 2 * 5, 1] == 255 and px[1, 1] == 0          # third image is white, first black
    assert ganzoo.make_grid(torch.rand(4, 3, 8, 8), scale=2).mode == "RGB"
    assert ganzoo.make_grid(images, nrow=3, padding=1, scale=3).size == (48, 33)


@pytest.mark.parametrize("bad", [torch.zeros(3, 4, 4), torch.zeros(0, 1, 4, 4)])
def test_make_grid_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="expected images of shape"):
        ganzoo.make_grid(bad)


def test_save_gif_writes_every_frame(tmp_path):
    frames = torch.linspace(0, 1, 6).view(6, 1, 1, 1).expand(6, 1, 8, 8)
    path = ganzoo.save_gif(frames, tmp_path / "walk.gif", fps=10, scale=2)
    with Image.open(path) as im:
        assert im.n_frames == 6 and im.size == (16, 16) and im.info["duration"] == 100
        im.seek(5)
        assert im.convert("L").getpixel((0, 0)) == 255
    with pytest.raises(ValueError, match="fps must be in"):
        ganzoo.save_gif(frames, tmp_path / "x.gif", fps=0)
