"""The training images held on the device as uint8, and the batches the loop draws from them.

Batch b of a run is a pure function of (seed, b, process): one shuffle per epoch from
(seed, epoch), each process taking its own slice. So a resumed run draws exactly the batches
an uninterrupted one would, without saving a data-loader state.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ganzoo.data import DatasetError, load_dataset
from training.config import TrainConfig, TrainingError, resolve_path


@dataclass
class DeviceData:
    images: torch.Tensor                 # uint8 (N, C, H, W) on the device
    labels: torch.Tensor | None          # int64 (N,) on the device, or None
    batch_size: int
    seed: int
    world: int = 1                       # processes sharing each epoch
    rank: int = 0
    channels_last: bool = False
    name: str = ""                        # the data set's name, for the card

    def __post_init__(self):
        self._perm_epoch, self._perm = None, None

    @property
    def steps_per_epoch(self) -> int:
        """Batches per epoch, per process."""
        return self.images.shape[0] // (self.batch_size * self.world)

    def batch(self, b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The b-th batch of this process (b counts batches since the start of training):
        images (B, C, H, W) float in [0, 1], labels (B,) or None."""
        epoch, i = divmod(b, self.steps_per_epoch)
        if self._perm_epoch != epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.images.shape[0], generator=gen).to(self.images.device)
            self._perm_epoch = epoch
        start = (i * self.world + self.rank) * self.batch_size
        idx = self._perm[start:start + self.batch_size]
        x = self.images[idx].float().div_(255)                               # (B, C, H, W) in [0, 1]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, (self.labels[idx] if self.labels is not None else None)


def load_device_data(cfg: TrainConfig, model_cfg, n_labels: int, device: torch.device, *, world: int = 1,
                     rank: int = 0) -> DeviceData:
    """The recipe's data set on ``device``, checked against the model (shape, and labels in
    0..n_labels-1 when the model or D's class head needs them)."""
    try:
        data = load_dataset(resolve_path(cfg.data), channels=model_cfg.channels, image_size=model_cfg.image_size)
    except DatasetError as e:
        raise TrainingError(str(e)) from None
    if n_labels and (data.labels is None or data.num_classes > n_labels):
        option = "num_classes" if getattr(model_cfg, "num_classes", None) else "aux_classes"
        raise TrainingError(f"{cfg.family} with {option}={n_labels} needs labels in 0..{n_labels - 1}; "
                            f"{data.source!r} has {'none' if data.labels is None else data.num_classes}")
    out = DeviceData(data.images.to(device), data.labels.to(device) if n_labels else None, cfg.batch_size, cfg.seed,
                     world=world, rank=rank, channels_last=cfg.channels_last, name=data.name)
    if out.steps_per_epoch < 1:
        raise TrainingError(f"batch_size {cfg.batch_size} x {world} process(es) exceeds the {len(data)} images")
    return out
