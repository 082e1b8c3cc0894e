"""Image data sets as uint8 tensors: IDX files (MNIST, Fashion-MNIST) or a folder of images.

Everything here returns ``images`` uint8 (N, C, H, W) and ``labels`` int64 (N,) or None.
"""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MNIST_CLASSES = [str(d) for d in range(10)]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
IDX_DTYPES = {0x08: np.uint8}


class DatasetError(ValueError):
    """A data set path or file that cannot be read as asked."""


@dataclass
class ImageDataset:
    images: torch.Tensor               # uint8 (N, C, H, W)
    labels: torch.Tensor | None        # int64 (N,)
    source: str
    class_names: list[str] | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def name(self) -> str:
        """The data set's folder name (the folder holding an IDX file, or the image folder)."""
        path = Path(self.source)
        return path.parent.name if path.is_file() else path.name

    @property
    def num_classes(self) -> int | None:
        return None if self.labels is None else int(self.labels.max()) + 1


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (optionally .gz) as a numpy array; only unsigned-byte data (MNIST's)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(f"cannot read IDX file {str(path)!r}: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DatasetError(f"{str(path)!r} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{str(path)!r} is truncated: its IDX header needs {header} bytes, the file has {len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DatasetError(f"{str(path)!r} is truncated or padded: {len(raw)} bytes, expected {expected} for shape {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_idx_pair(images_path: str | Path, labels_path: str | Path | None) -> ImageDataset:
    imgs = read_idx(images_path)
    if imgs.ndim != 3:
        raise DatasetError(f"{str(images_path)!r} holds an array of shape {imgs.shape}; images need (N, H, W)")
    labels = None
    if labels_path is not None:
        lab = read_idx(labels_path)
        if lab.shape != (imgs.shape[0],):
            raise DatasetError(f"{str(labels_path)!r} has {lab.shape} labels for {imgs.shape[0]} images")
        labels = torch.from_numpy(lab.astype(np.int64))
    return ImageDataset(torch.from_numpy(imgs.copy())[:, None], labels, str(images_path))


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_dataset(path: str | Path, *, split: str = "train", channels: int | None = None,
                 image_size: int | None = None) -> ImageDataset:
    """Load a data set from a folder or an IDX file.

    - a folder holding MNIST-style IDX files (``{split}-images-idx3-ubyte[.gz]`` and labels;
      the test split is named ``t10k-``), as ../shared/data/mnist-10k and Fashion-MNIST are;
    - any IDX images file; labels come from the file beside it whose name has ``labels-idx1``
      where the images file has ``images-idx3``, when there is one;
    - a folder of images (one sub-folder per class gives labels, sorted by folder name).
    The shape is checked against ``channels`` and ``image_size`` when given.
    """
    folder = Path(path).expanduser()
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split {split!r}; valid: 'train', 'test'")
    if folder.is_file():
        labels = folder.with_name(folder.name.replace("images-idx3", "labels-idx1"))
        ds = load_idx_pair(folder, labels if labels != folder and labels.is_file() else None)
        _check_shape(ds, channels, image_size)
        return ds
    if not folder.is_dir():
        raise DatasetError(f"data set folder {str(folder)!r} does not exist; give a folder of IDX files "
                           f"(e.g. ../shared/data/mnist-10k, {FASHION_MNIST_DIR}) or of images")
    prefix = "t10k" if split == "test" else "train"
    images_file = _find(folder, f"{prefix}-images-idx3-ubyte")
    if images_file is not None:
        ds = load_idx_pair(images_file, _find(folder, f"{prefix}-labels-idx1-ubyte"))
        if "fashion" in str(folder).lower():
            ds.class_names = FASHION_MNIST_CLASSES
        elif ds.labels is not None and ds.num_classes == 10:
            ds.class_names = MNIST_CLASSES
    else:
        ds = _load_image_folder(folder)
    _check_shape(ds, channels, image_size)
    return ds


def _load_image_folder(folder: Path) -> ImageDataset:
    from PIL import Image

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{str(folder)!r} holds neither IDX files ({{train,t10k}}-images-idx3-ubyte[.gz]) "
                           f"nor images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    classes = sorted({p.parent.name for p in files}) if all(p.parent != folder for p in files) else None
    arrays = []
    for p in files:
        with Image.open(p) as im:
            arr = np.asarray(im.convert("L" if im.mode in ("L", "1", "P", "I;16") else "RGB"))
        arrays.append(arr[:, :, None] if arr.ndim == 2 else arr)
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise DatasetError(f"images in {str(folder)!r} differ in size/channels: {sorted(shapes)[:4]}; resize them first")
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()   # (N, C, H, W)
    labels = None
    if classes is not None:
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[p.parent.name] for p in files])
    return ImageDataset(images, labels, str(folder), classes)


def _check_shape(ds: ImageDataset, channels: int | None, image_size: int | None) -> None:
    _, c, h, w = ds.images.shape
    if channels is not None and c != channels:
        raise DatasetError(f"data set {ds.source!r} has {c} channel(s) but the model expects {channels}")
    if image_size is not None and (h, w) != (image_size, image_size):
        raise DatasetError(f"data set {ds.source!r} has {h}x{w} images but the model expects {image_size}x{image_size}")
