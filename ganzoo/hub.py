"""Loading and saving generators: zoo names, local folders and Hugging Face Hub repos.

A model folder (and a Hub repo) holds ``config.json`` and ``model.safetensors``:
config.json = {"family": ..., "config": {...}, ...}; the weights are the generator's
state dict in safetensors. No pickle anywhere.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .errors import (ChecksumMismatchError, CorruptWeightsError, HubUnavailableError, InvalidConfigError,
                     MissingFilesError, RevisionNotFoundError, WeightsMismatchError)
from .models import FAMILIES, ImageGenerator, build_generator, family_of, make_config
from .registry import get_entry, list_models, unknown_model

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
HUB_PREFIX = "hf-hub:"
SOURCES = ("bundled", "hub")
SOURCE_ENV = "GANZOO_SOURCE"   # "hub" makes zoo names load from their Hub repo


def load(name_or_path: str | os.PathLike, *, revision: str | None = None, device: str | torch.device = "cpu",
         dtype: torch.dtype | None = None, source: str | None = None) -> ImageGenerator:
    """A generator in eval mode from a zoo name, ``"hf-hub:owner/repo[@revision]"`` or a folder.

    - zoo name (see ``list_models()``): the weights bundled with the package, sha256-checked,
      no network; ``source="hub"`` (or GANZOO_SOURCE=hub) fetches its Hub repo instead.
    - ``hf-hub:``: config.json + model.safetensors through huggingface_hub's cache (honours
      HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE).
    - a folder holding config.json + model.safetensors (what training/train.py writes).
    """
    spec = os.fspath(name_or_path)
    source = source or os.environ.get(SOURCE_ENV) or "bundled"
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; valid: {', '.join(SOURCES)}")
    if spec.startswith(HUB_PREFIX):
        repo_id, _, at_rev = spec[len(HUB_PREFIX):].partition("@")
        if revision is not None and at_rev and revision != at_rev:
            raise ValueError(f"two revisions given: {at_rev!r} in {spec!r} and revision={revision!r}")
        folder = download(repo_id, revision=revision or at_rev or None)
        g = load_folder(folder)
    elif spec in list_models():
        entry = get_entry(spec)
        if source == "hub":
            g = load_folder(download(entry.hub_repo, revision=revision or entry.revision))
        else:
            if revision is not None:
                raise ValueError(f"revision={revision!r} needs the Hub: pass source='hub' (or set {SOURCE_ENV}=hub) "
                                 f"to load {spec!r} from {entry.hub_repo}")
            verify_sha256(entry.weights_file, entry.sha256, what=f"bundled weights of {spec!r}")
            g = load_folder(entry.folder)
    elif Path(spec).expanduser().is_dir():
        g = load_folder(Path(spec).expanduser())
    elif os.sep in spec or spec.startswith("."):
        raise MissingFilesError(f"folder {spec!r} does not exist; a model folder holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    else:
        raise unknown_model(spec)
    g.name = spec
    # channels_last: about a third faster for these transposed convolutions on CPU (measured in
    # benchmarks/sample_speed.py); a no-op for the MLP family, whose weights are not 4-D.
    return g.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()


def read_config(folder: Path) -> tuple[str, Any, dict]:
    """(family, config dataclass, the whole config.json) of a model folder."""
    path = folder / CONFIG_NAME
    try:
        meta = json.loads(path.read_text())
        family, options = meta["family"], meta["config"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidConfigError(f"{str(path)!r} is not a ganzoo config (needs JSON with 'family' and 'config'): {e}") from e
    if family not in FAMILIES:
        raise InvalidConfigError(f"{str(path)!r} names unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    try:
        return family, make_config(family, options), meta
    except (TypeError, ValueError) as e:
        raise InvalidConfigError(f"{str(path)!r}: {e}") from e


def load_folder(folder: str | Path) -> ImageGenerator:
    folder = Path(folder)
    missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not (folder / n).is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise MissingFilesError(f"{str(folder)!r} lacks {', '.join(missing)}; a model folder holds {CONFIG_NAME} and "
                                f"{WEIGHTS_NAME} (found: {', '.join(present) or 'nothing'})")
    family, config, _ = read_config(folder)
    g = build_generator(family, config)
    load_weights(g, folder / WEIGHTS_NAME)
    g.weights_file = folder / WEIGHTS_NAME
    return g


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Strict safetensors load: every key present, no extra key, every shape equal."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CorruptWeightsError(f"{str(path)!r} is not a readable safetensors file (truncated or corrupt?): {e}") from e
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if wrong:
            parts.append("shape mismatches " + ", ".join(
                f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}" for k in wrong))
        raise WeightsMismatchError(f"{str(path)!r} does not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_sha256(path: Path, expected: str, *, what: str) -> None:
    if not path.is_file():
        raise MissingFilesError(f"{what} not found at {str(path)!r}; reinstall ganzoo or load from the Hub with source='hub'")
    actual = file_sha256(path)
    if actual != expected:
        raise ChecksumMismatchError(f"{what} at {str(path)!r} have sha256 {actual}, expected {expected or '(none registered)'}; "
                                    "the file is damaged or was replaced: reinstall ganzoo or load with source='hub'")


def save_pretrained(generator: ImageGenerator, folder: str | Path, **extra: Any) -> Path:
    """Write config.json + model.safetensors into ``folder``, each atomically (temp file, then rename)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"family": family_of(generator), "config": generator.config_dict(), "ganzoo_version": __version__, **extra}
    state = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype).contiguous()
             for k, v in generator.state_dict().items()}
    with atomic_path(folder / WEIGHTS_NAME) as tmp:
        save_file(state, tmp, metadata={"format": "pt"})
    with atomic_path(folder / CONFIG_NAME) as tmp:
        Path(tmp).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


class atomic_path:
    """Context manager yielding a temp path beside ``target``; renamed onto it only on success."""

    def __init__(self, target: Path):
        self.target = Path(target)

    def __enter__(self) -> str:
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        os.close(fd)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            with open(self.tmp, "rb") as f:
                os.fsync(f.fileno())
            os.chmod(self.tmp, 0o644)          # mkstemp makes private files; these are for sharing
            os.replace(self.tmp, self.target)
        elif os.path.exists(self.tmp):
            os.unlink(self.tmp)


def _revision_error(repo_id: str, revision: str | None) -> RevisionNotFoundError:
    return RevisionNotFoundError(f"revision {revision!r} not found in Hub repo {repo_id!r}; "
                                 "give a branch, tag or commit that exists (default 'main')")


def _repo_exists(repo_id: str) -> bool:
    from huggingface_hub import hf_hub_download
    from huggingface_hub import errors as hf_errors
    try:
        hf_hub_download(repo_id, CONFIG_NAME)
        return True
    except (hf_errors.HfHubHTTPError, hf_errors.EntryNotFoundError, OSError):
        return False


def download(repo_id: str, *, revision: str | None = None) -> Path:
    """config.json + model.safetensors of a Hub repo into huggingface_hub's cache; returns their folder."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub import errors as hf_errors

    where = f"{repo_id}@{revision or 'main'} on {constants.ENDPOINT}"
    try:
        paths = [hf_hub_download(repo_id, name, revision=revision) for name in (CONFIG_NAME, WEIGHTS_NAME)]
    # LocalEntryNotFoundError subclasses EntryNotFoundError: it must be caught first
    except (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled) as e:
        mode = ("offline mode is on (HF_HUB_OFFLINE=1)" if constants.HF_HUB_OFFLINE
                else f"the Hub at {constants.ENDPOINT} cannot be reached")
        raise HubUnavailableError(
            f"cannot get {where}: {mode} and it is not in the cache {constants.HF_HUB_CACHE}. "
            "Connect to the network (or set HF_ENDPOINT to a mirror) and load it once to cache it, "
            "or use the copy bundled with ganzoo: ganzoo.load('<zoo name>')") from e
    except hf_errors.RevisionNotFoundError as e:
        raise _revision_error(repo_id, revision) from e
    except (hf_errors.RemoteEntryNotFoundError, hf_errors.EntryNotFoundError) as e:
        raise MissingFilesError(f"Hub repo {where} lacks {CONFIG_NAME} or {WEIGHTS_NAME}") from e
    except hf_errors.RepositoryNotFoundError as e:
        # Some servers (mirrors) answer an unknown revision as an unknown repo: tell them apart.
        if revision not in (None, "main") and _repo_exists(repo_id):
            raise _revision_error(repo_id, revision) from e
        raise MissingFilesError(f"Hub repo {where} not found, or it lacks {CONFIG_NAME}/{WEIGHTS_NAME}; "
                                f"check the id (zoo repos: {', '.join(get_entry(n).hub_repo for n in list_models())})") from e
    except hf_errors.HFValidationError as e:
        raise ValueError(f"{repo_id!r} is not a valid Hub repo id (expected 'owner/name'): {e}") from e
    except OSError as e:   # connection refused, DNS failure, timeouts after huggingface_hub's retries
        raise HubUnavailableError(f"cannot get {where}: the Hub cannot be reached ({e}). Set HF_ENDPOINT to a "
                                  "reachable mirror, or use the copy bundled with ganzoo: ganzoo.load('<zoo name>')") from e
    return Path(paths[1]).parent
