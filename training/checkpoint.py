"""Training checkpoints without pickle: nested state (models, optimizers, RNG states, step)
flattened into one safetensors file, the non-tensor structure kept as JSON in its header.

Written atomically (temp file + rename), so a crash mid-write leaves the previous checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ganzoo.hub import atomic_path

CHECKPOINT_NAME = "checkpoint.safetensors"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated or not ours."""


def _flatten(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace tensors by {"__tensor__": key} (stored in ``tensors``); keep the rest as JSON."""
    if isinstance(obj, torch.Tensor):
        key = prefix or "_"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if obj and all(isinstance(k, int) for k in obj):   # optimizer state is keyed by int
            return {"__intdict__": {str(k): _flatten(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}}
        return {k: _flatten(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint {type(obj).__name__} at {prefix!r}")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        if set(obj) == {"__intdict__"}:
            return {int(k): _unflatten(v, tensors) for k, v in obj["__intdict__"].items()}
        return {k: _unflatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(state, "", tensors)
    with atomic_path(Path(path)) as tmp:
        save_file(tensors, tmp, metadata={"ganzoo_checkpoint": json.dumps(tree)})


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {str(path)!r}; start without --resume")
    try:
        with safe_open(path, framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        tree = json.loads(meta["ganzoo_checkpoint"])
    except (SafetensorError, OSError, KeyError, ValueError) as e:
        raise CheckpointError(f"{str(path)!r} is not a readable ganzoo checkpoint: {e}") from e
    return _unflatten(tree, tensors)
