"""Loading and saving generators: zoo names, local folders and Hugging Face Hub repos.

A model folder (and a Hub repo) holds ``config.json`` and ``model.safetensors``:
config.json = {"family": ..., "config": {...}, ...}; the weights are the generator's
state dict in safetensors. No pickle anywhere.
"""
from __future__ import annotations

import contextlib
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
                     InvalidSpecError, MissingFilesError, RevisionNotFoundError, WeightsMismatchError)
from .models import FAMILIES, ImageGenerator, build_generator, family_of, make_config
from .registry import get_entry, list_models, unknown_model

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
HUB_PREFIX = "hf-hub:"
SOURCES = ("bundled", "hub")
SOURCE_ENV = "GANZOO_SOURCE"   # "hub" makes zoo names load from their Hub repo
MAX_SPEC_LENGTH = 1024         # a zoo name, hf-hub: spec or folder path
MAX_CONFIG_BYTES = 1 << 20     # config.json of an untrusted repo


def load(name_or_path: str | os.PathLike, *, revision: str | None = None, device: str | torch.device = "cpu",
         dtype: torch.dtype | None = None, source: str | None = None) -> ImageGenerator:
    """A generator in eval mode from a zoo name, ``"hf-hub:owner/repo[@revision]"`` or a folder.

    - zoo name (see ``list_models()``): the weights bundled with the package, sha256-checked,
      no network; ``source="hub"`` (or GANZOO_SOURCE=hub) fetches its Hub repo instead.
    - ``hf-hub:``: config.json + model.safetensors through huggingface_hub's cache (honours
      HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE).
    - a folder holding config.json + model.safetensors (what training writes).
    """
    device, dtype = check_device(device), check_dtype(dtype)
    return ready(load_folder(resolve(name_or_path, revision=revision, source=source)), os.fspath(name_or_path),
                 device, dtype)


def ready(g: ImageGenerator, name: str, device: torch.device, dtype: torch.dtype | None) -> ImageGenerator:
    """A loaded generator named ``name``, on ``device`` in ``dtype`` (as checked by check_device /
    check_dtype), in eval mode: what ganzoo.load and ImageGenerator.from_pretrained return."""
    g.name = name
    # channels_last: about a third faster for these transposed convolutions on CPU (measured in
    # benchmarks/sample_speed.py); a no-op for the MLP family, whose weights are not 4-D.
    return g.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()


def resolve(name_or_path: str | os.PathLike, *, revision: str | None = None, source: str | None = None,
            **hub_options: Any) -> Path:
    """The local folder holding a model's config.json and model.safetensors: a zoo model's bundled
    copy (sha256-checked) or Hub repo, a Hub repo (downloaded into huggingface_hub's cache), or a
    folder as given. ``hub_options`` go to ``download`` (token, cache_dir, force_download, local_files_only)."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise InvalidSpecError(f"a model is a zoo name ({', '.join(list_models())}), 'hf-hub:owner/repo' or a folder "
                               f"path; got {type(name_or_path).__name__} {name_or_path!r:.60}")
    spec = os.fspath(name_or_path)
    if not spec or len(spec) > MAX_SPEC_LENGTH or "\0" in spec:
        raise InvalidSpecError(f"{spec[:60]!r}{'...' if len(spec) > 60 else ''} ({len(spec)} characters) is not a zoo "
                               f"name, 'hf-hub:owner/repo' or a folder path of at most {MAX_SPEC_LENGTH} characters")
    source = source or os.environ.get(SOURCE_ENV) or "bundled"
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; valid: {', '.join(SOURCES)}")
    if spec.startswith(HUB_PREFIX):                 # download checks the repo id and revision before any request
        repo_id, _, at_rev = spec[len(HUB_PREFIX):].partition("@")
        if revision is not None and at_rev and revision != at_rev:
            raise ValueError(f"two revisions given: {at_rev!r} in {spec!r} and revision={revision!r}")
        return download(repo_id, revision=revision or at_rev or None, **hub_options)
    if spec in list_models():
        entry = get_entry(spec)
        if source == "hub":
            return download(entry.hub_repo, revision=revision or entry.revision, zoo_name=spec, **hub_options)
        if revision is not None:
            raise ValueError(f"revision={revision!r} needs the Hub: pass source='hub' (or set {SOURCE_ENV}=hub) "
                             f"to load {spec!r} from {entry.hub_repo}")
        verify_sha256(entry.weights_file, entry.sha256, what=f"bundled weights of {spec!r}")
        return entry.folder
    try:
        is_dir = Path(spec).expanduser().is_dir()
    except OSError:                             # a name too long for the file system
        is_dir = False
    if is_dir:
        return Path(spec).expanduser()
    if os.sep in spec or spec.startswith("."):
        raise MissingFilesError(f"folder {spec!r} does not exist; a model folder holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    raise unknown_model(spec)


def check_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device that this machine has, or ValueError naming what it has."""
    have = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())] + \
        (["mps"] if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else [])
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {device!r}; this machine has: {', '.join(have)}") from None
    if dev.type == "cpu" or f"{dev.type}:{dev.index or 0}" in have or (dev.type == "mps" and "mps" in have):
        return dev
    raise ValueError(f"device {device!r} is not available on this machine; it has: {', '.join(have)}")


def check_dtype(dtype: torch.dtype | None) -> torch.dtype | None:
    if dtype is None or (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        return dtype
    raise ValueError(f"dtype must be a floating torch.dtype (torch.float32, torch.bfloat16, ...), got {dtype!r}")


def check_revision(revision: str | None) -> str | None:
    """A branch, tag or commit as the Hub names them; refuses what could step out of the cache
    folder (``..``, absolute paths, backslashes, control characters) before any request is made."""
    if revision is None:
        return None
    parts = revision.split("/") if isinstance(revision, str) else []
    if (not isinstance(revision, str) or not revision or len(revision) > 256 or revision.startswith("/")
            or "\\" in revision or any(c < " " or c == "\x7f" for c in revision) or any(p in ("", ".", "..") for p in parts)):
        raise ValueError(f"invalid revision {revision!r:.80}: give a branch, tag or commit (e.g. 'main', 'v1', "
                         "'refs/pr/1' or a 40-hex commit), without '..', '.', empty parts or a leading '/'")
    return revision


def read_config(folder: Path) -> tuple[str, Any, dict]:
    """(family, config dataclass, the whole config.json) of a model folder."""
    path = folder / CONFIG_NAME
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise InvalidConfigError(f"{str(path)!r} is {path.stat().st_size:,} bytes; a ganzoo config is a few hundred "
                                     f"(at most {MAX_CONFIG_BYTES:,})")
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        why = "it is nested too deeply" if isinstance(e, RecursionError) else e
        raise InvalidConfigError(f"{str(path)!r} is not a ganzoo config (needs JSON with 'family' and 'config'): {why}") from None
    if not isinstance(meta, dict) or "family" not in meta or "config" not in meta:
        raise InvalidConfigError(f"{str(path)!r} is not a ganzoo config: it needs a JSON object with 'family' and 'config'")
    family, options = meta["family"], meta["config"]
    if not isinstance(family, str) or family not in FAMILIES:
        raise InvalidConfigError(f"{str(path)!r} names unknown family {family!r:.60}; valid: {', '.join(FAMILIES)}")
    try:
        return family, make_config(family, options), meta
    except (TypeError, ValueError) as e:
        raise InvalidConfigError(f"{str(path)!r}: {e}") from None


def load_folder(folder: str | Path) -> ImageGenerator:
    """The generator of a model folder. Its config is checked against the weights file's header
    (names and shapes, on torch's meta device) before anything is allocated, so an untrusted
    folder cannot make ganzoo build a model that its weights do not fit."""
    folder = Path(folder)
    missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not (folder / n).is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise MissingFilesError(f"{str(folder)!r} lacks {', '.join(missing)}; a model folder holds {CONFIG_NAME} and "
                                f"{WEIGHTS_NAME} (found: {', '.join(present[:20]) or 'nothing'})")
    family, config, _ = read_config(folder)
    with torch.device("meta"):
        skeleton = build_generator(family, config)
    check_weights_header(skeleton, folder / WEIGHTS_NAME)
    g = build_generator(family, config)
    load_weights(g, folder / WEIGHTS_NAME)
    g.weights_file = folder / WEIGHTS_NAME
    return g


def check_weights_header(model: torch.nn.Module, path: Path) -> None:
    """The safetensors header of ``path`` (names, shapes) against ``model``'s state dict, reading no tensor."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise CorruptWeightsError(f"{str(path)!r} is not a readable safetensors file (truncated or corrupt?): {e}") from None
    _check_fit(model, shapes, path)


def _check_fit(model: torch.nn.Module, shapes: dict[str, tuple[int, ...]], path: Path) -> None:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = sorted(k for k in set(shapes) & set(expected) if shapes[k] != expected[k])
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:10]}{' ...' if len(missing) > 10 else ''}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''}")
        if wrong:
            parts.append("shape mismatches " + ", ".join(f"{k}: file {shapes[k]} vs model {expected[k]}" for k in wrong[:10]))
        raise WeightsMismatchError(f"{str(path)!r} does not fit {type(model).__name__}: " + "; ".join(parts))


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Strict safetensors load: every key present, no extra key, every shape equal, every value finite."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CorruptWeightsError(f"{str(path)!r} is not a readable safetensors file (truncated or corrupt?): {e}") from None
    _check_fit(model, {k: tuple(v.shape) for k, v in state.items()}, path)
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CorruptWeightsError(f"{str(path)!r} holds NaN or infinite values in {', '.join(bad[:5])}"
                                  f"{' ...' if len(bad) > 5 else ''}: a corrupt or diverged model")
    model.load_state_dict(state, strict=True)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    from huggingface_hub import errors as hf_errors
    from huggingface_hub import hf_hub_download
    try:
        hf_hub_download(repo_id, CONFIG_NAME, library_name="ganzoo", library_version=__version__)
        return True
    except (hf_errors.HfHubHTTPError, hf_errors.EntryNotFoundError, OSError):
        return False


def check_repo_id(repo_id: str) -> str:
    """An 'owner/name' Hub repo id as the Hub validates it, or ValueError before any request."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise ValueError(f"{repo_id!r:.100} is not a valid Hub repo id (expected 'owner/name' of letters, digits, "
                         f"'-', '_' and '.'): {str(e).splitlines()[0]}") from None
    return repo_id


def _endpoint_reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the Hub endpoint opens. huggingface_hub retries a refused or
    unresolvable connection for about 20 s; this asks once, so an unreachable Hub fails fast."""
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    try:
        with socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def download(repo_id: str, *, revision: str | None = None, zoo_name: str | None = None, token: str | bool | None = None,
             cache_dir: str | Path | None = None, force_download: bool = False, local_files_only: bool = False) -> Path:
    """config.json + model.safetensors of a Hub repo into huggingface_hub's cache; returns their folder.

    The request names ganzoo and its version in the user agent. When the Hub cannot be reached,
    the cached copy is used, or HubUnavailableError says how to get one.
    """
    from huggingface_hub import constants, hf_hub_download

    check_repo_id(repo_id)
    check_revision(revision)
    offline = constants.HF_HUB_OFFLINE or local_files_only
    unreachable = not offline and not _endpoint_reachable(constants.ENDPOINT)
    with hub_errors(repo_id, revision, zoo_name=zoo_name, local_files_only=local_files_only, cache_dir=cache_dir):
        paths = [hf_hub_download(repo_id, name, revision=revision, token=token, cache_dir=cache_dir,
                                 force_download=force_download, local_files_only=offline or unreachable,
                                 library_name="ganzoo", library_version=__version__)
                 for name in (CONFIG_NAME, WEIGHTS_NAME)]
    return Path(paths[1]).parent


@contextlib.contextmanager
def hub_errors(repo_id: str, revision: str | None, *, zoo_name: str | None = None, local_files_only: bool = False,
               cache_dir: str | Path | None = None):
    """huggingface_hub's exceptions, raised inside, as ganzoo's errors that say what to do."""
    from huggingface_hub import constants
    from huggingface_hub import errors as hf_errors

    where = f"{repo_id}@{revision or 'main'} on {constants.ENDPOINT}"
    fallback = f"ganzoo.load({zoo_name!r})" if zoo_name else "ganzoo.load(NAME) with a zoo name (ganzoo.list_models())"
    try:
        yield
    # LocalEntryNotFoundError subclasses EntryNotFoundError: it must be caught first
    except (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled) as e:
        mode = ("offline mode is on (HF_HUB_OFFLINE=1)" if constants.HF_HUB_OFFLINE
                else "local_files_only=True was given" if local_files_only
                else f"the Hub at {constants.ENDPOINT} cannot be reached")
        raise HubUnavailableError(
            f"cannot get {where}: {mode} and it is not in the cache {cache_dir or constants.HF_HUB_CACHE}. "
            "Connect to the network (or set HF_ENDPOINT to a mirror) and load it once to cache it, "
            f"or use the copy bundled with ganzoo: {fallback}") from e
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
    except OSError as e:   # connection dropped mid-download, timeouts after huggingface_hub's retries
        raise HubUnavailableError(f"cannot get {where}: the Hub cannot be reached ({e}). Set HF_ENDPOINT to a "
                                  f"reachable mirror, or use the copy bundled with ganzoo: {fallback}") from e
