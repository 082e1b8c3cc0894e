"""The zoo: every named pretrained model, the one list that the CLI, app, docs and tests read.

Each entry says what the model is (family, config, data set, classes, image shape), where its
weights live (Hub repo and revision; the copy bundled with the package and its sha256), its
licence, and the metrics measured by training/evaluate.py (see the model cards).
"""
from __future__ import annotations

import difflib
import fnmatch
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UnknownModelError

# In a wheel the cards are package data (pyproject force-includes model_cards/ as
# ganzoo/model_cards); in a source checkout or editable install they sit beside the package.
_PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = next((p for p in (_PACKAGE_DIR / "model_cards", _PACKAGE_DIR.parent / "model_cards") if p.is_dir()),
                   _PACKAGE_DIR / "model_cards")


# The shipped judges of ganzoo.metrics (training/train_classifier.py writes them); kept here, free of
# torch, so the CLI can list them without importing it.
EVALUATOR_DIR = _PACKAGE_DIR / "evaluators"
EVALUATORS = {"mnist-10k": "mnist", "fashion-mnist": "fashion"}   # zoo data set -> evaluator


def evaluator_names() -> list[str]:
    """Names of the evaluators shipped in EVALUATOR_DIR (``mnist``, ``fashion``)."""
    return sorted(p.name.split("-classifier")[0] for p in EVALUATOR_DIR.glob("*-classifier.safetensors"))


@dataclass(frozen=True)
class ZooEntry:
    """What the weights need: where they live and what they were trained on. What the model is
    (family, architecture, classes, image shape) is read from its own config.json, the one place
    it is written."""
    name: str
    dataset: str
    hub_repo: str
    sha256: str                           # of the bundled model.safetensors
    revision: str = "main"
    license: str = "mit"
    description: str = ""

    @property
    def folder(self) -> Path:
        """The bundled copy: config.json, model.safetensors, README.md (the Hub repo's content)."""
        return BUNDLED_DIR / self.name

    @property
    def weights_file(self) -> Path:
        return self.folder / "model.safetensors"

    @property
    def model_config(self) -> dict[str, Any]:
        """The bundled config.json ({"family": ..., "config": {...}, ...})."""
        return _read_json(self.folder / "config.json")

    @property
    def family(self) -> str:
        return self.model_config["family"]

    @property
    def config(self) -> dict[str, Any]:
        """The architecture's options, as ganzoo.make_config takes them."""
        return self.model_config["config"]

    @property
    def num_classes(self) -> int | None:
        return self.config.get("num_classes")

    @property
    def class_names(self) -> tuple[str, ...] | None:
        names = self.config.get("class_names")
        return tuple(names) if names else None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.config.get("channels", 1), self.config.get("image_size", 28), self.config.get("image_size", 28))

    @property
    def metrics(self) -> dict[str, Any]:
        """The measured figures (training/evaluate.py), from the card folder's eval.json."""
        path = self.folder / "eval.json"
        return _read_json(path) if path.is_file() else {}


@functools.lru_cache(maxsize=None)
def _read_json_cached(path: Path, mtime: float) -> dict:
    return json.loads(path.read_text())


def _read_json(path: Path) -> dict:
    return _read_json_cached(path, path.stat().st_mtime)


_REGISTRY: dict[str, ZooEntry] = {}


def register(entry: ZooEntry) -> ZooEntry:
    if entry.name in _REGISTRY:
        raise ValueError(f"model {entry.name!r} is registered twice")
    _REGISTRY[entry.name] = entry
    return entry


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted zoo names, optionally filtered by a glob such as ``"*mnist*"``."""
    names = sorted(_REGISTRY)
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def unknown_model(name: str) -> UnknownModelError:
    """The error for a name that is not in the zoo, with the nearest name and the valid ones."""
    near = difflib.get_close_matches(name, _REGISTRY, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return UnknownModelError(f"unknown model {name!r}{hint} (valid: {', '.join(list_models())}; "
                             "see ganzoo.list_models(), or give 'hf-hub:owner/repo' or a folder path)")


def get_entry(name: str) -> ZooEntry:
    if name not in _REGISTRY:
        raise unknown_model(name)
    return _REGISTRY[name]


# sha256 of each bundled model.safetensors, as printed by training/make_card.py. Metrics live
# beside the weights (model_cards/NAME/eval.json); see the card's README for how they were measured.
register(ZooEntry(
    name="vanilla-mnist",
    dataset="mnist-10k",
    hub_repo="ganzoo/vanilla-mnist",
    sha256="48587a7065bb68903740952dfaabd297f8cc642da2cf5a4e28e3b3b06ea4e26b",
    description="MLP GAN of the lecture recipe (Goodfellow et al. 2014)",
))
register(ZooEntry(
    name="dcgan-mnist",
    dataset="mnist-10k",
    hub_repo="ganzoo/dcgan-mnist",
    sha256="6995d7a0b6e78f711a445947444e5c18825a1ce07653c77d2fc3440b55bc23de",
    description="DCGAN (Radford et al. 2015)",
))
register(ZooEntry(
    name="cgan-mnist",
    dataset="mnist-10k",
    hub_repo="ganzoo/cgan-mnist",
    sha256="3da30d734eed506133cc6068ed424a184e132f6f61cfc340d1b66b755f6cad5a",
    description="conditional DCGAN with a projection discriminator and an auxiliary classifier (AC-GAN)",
))
register(ZooEntry(
    name="dcgan-fashion",
    dataset="fashion-mnist",
    hub_repo="ganzoo/dcgan-fashion",
    sha256="f7052bfc87cf9cdaf40b48f4781712fd87c7b0b8fcaa1ef803d6c92639143e27",
    description="DCGAN (Radford et al. 2015), its discriminator trained with a class head",
))
register(ZooEntry(
    name="cgan-fashion",
    dataset="fashion-mnist",
    hub_repo="ganzoo/cgan-fashion",
    sha256="e8ab5214ba56e3a3a6bf612119473e0315220fb6895dd153a0de222bbf0d1410",
    description="conditional DCGAN with a projection discriminator and an auxiliary classifier (AC-GAN)",
))
