"""Data sets: IDX folders, single IDX files, image folders, and the errors for bad ones."""
import gzip

import numpy as np
import pytest
from PIL import Image

from ganzoo.data import DatasetError, load_dataset, read_idx
from tests.conftest import make_digits, write_idx


def test_idx_folder(digits_dir):
    ds = load_dataset(digits_dir)
    assert ds.images.shape == (256, 1, 28, 28) and ds.labels.shape == (256,) and ds.num_classes == 10
    assert ds.class_names == [str(d) for d in range(10)]
    with pytest.raises(DatasetError, match="neither IDX files"):
        load_dataset(digits_dir, split="test")


def test_single_idx_file_finds_its_labels(digits_dir, tmp_path):
    ds = load_dataset(digits_dir / "train-images-idx3-ubyte.gz")
    assert ds.labels is not None and len(ds) == 256
    images, _ = make_digits(8)
    lone = write_idx(tmp_path / "my-images-idx3-ubyte", images, gz=False)
    assert load_dataset(lone).labels is None


def test_image_folder_with_class_subfolders(tmp_path):
    images, labels = make_digits(20)
    for i, (img, c) in enumerate(zip(images, labels)):
        (tmp_path / f"class_{c}").mkdir(exist_ok=True)
        Image.fromarray(img).save(tmp_path / f"class_{c}" / f"{i}.png")
    ds = load_dataset(tmp_path, channels=1, image_size=28)
    assert ds.images.shape == (20, 1, 28, 28) and ds.class_names == [f"class_{c}" for c in range(10)]
    assert ds.labels.tolist() == sorted(labels.tolist())          # files are read class folder by folder
    assert np.array_equal(ds.images[0, 0].numpy(), images[0])


@pytest.mark.parametrize("make,match", [
    (lambda p: p.write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 8), "not an unsigned-byte IDX file"),
    (lambda p: p.write_bytes(b"\x00\x00\x08\x03" + (4).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 10),
     "truncated or padded: 26 bytes, expected 3152 for shape \\(4, 28, 28\\)"),
])
def test_bad_idx_files(tmp_path, make, match):
    path = tmp_path / "x-images-idx3-ubyte"
    make(path)
    with pytest.raises(DatasetError, match=match):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "x-images-idx3-ubyte.gz"
    data = gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    path.write_bytes(data[:-6])
    with pytest.raises(DatasetError, match="cannot read IDX file"):
        read_idx(path)


def test_wrong_shape_and_missing_folder(digits_dir, tmp_path):
    with pytest.raises(DatasetError, match="has 28x28 images but the model expects 64x64"):
        load_dataset(digits_dir, image_size=64)
    with pytest.raises(DatasetError, match="data set folder .* does not exist"):
        load_dataset(tmp_path / "nothing")
    with pytest.raises(DatasetError, match="unknown split 'valid'"):
        load_dataset(digits_dir, split="valid")
