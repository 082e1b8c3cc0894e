"""Publishing a model folder (model_cards/NAME) to the Hugging Face Hub.

    ganzoo push model_cards/dcgan-mnist --repo-id OWNER/dcgan-mnist [--dry-run]

Refuses a folder whose card has no evaluated metrics, or whose weights differ from the
sha256 recorded in the registry. The token comes from HF_TOKEN or `hf auth login`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .errors import GanzooError
from .hub import CONFIG_NAME, WEIGHTS_NAME, check_repo_id, file_sha256, load_folder
from .registry import get_entry, list_models

CARD_NAME = "README.md"
EVAL_NAME = "eval.json"
REQUIRED = (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, EVAL_NAME)
REQUIRED_METRICS = ("fid", "fid_floor", "n", "seed", "evaluator_sha256")


class PublishError(GanzooError, ValueError):
    """A folder that must not be published as it is."""


@dataclass
class UploadPlan:
    repo_id: str
    folder: Path
    files: list[tuple[str, int, str]]          # (name, bytes, sha256)
    checkpoint: Path | None = None
    checkpoint_branch: str = "training"

    def describe(self) -> str:
        lines = [f"would create (if needed) model repo {self.repo_id} and upload {len(self.files)} files from {self.folder}:"]
        lines += [f"  {name:<22} {size:>10,} bytes  sha256 {sha[:16]}..." for name, size, sha in self.files]
        if self.checkpoint:
            lines.append(f"  and {self.checkpoint.name} ({self.checkpoint.stat().st_size:,} bytes) to branch "
                         f"{self.checkpoint_branch!r}")
        return "\n".join(lines)


def check_folder(folder: str | Path) -> dict:
    """Validate a folder for publishing; returns its parsed eval.json. Raises PublishError."""
    from huggingface_hub import ModelCard

    folder = Path(folder)
    missing = [n for n in REQUIRED if not (folder / n).is_file()]
    if missing:
        raise PublishError(f"{str(folder)!r} lacks {', '.join(missing)}; build it with training/make_card.py "
                           f"(a publishable folder holds {', '.join(REQUIRED)})")
    load_folder(folder)             # the config, and the weights loaded strictly: a damaged file is never sent
    metrics = json.loads((folder / EVAL_NAME).read_text())
    absent = [k for k in REQUIRED_METRICS if k not in metrics]
    if absent:
        raise PublishError(f"{str(folder / EVAL_NAME)!r} lacks evaluated metrics {absent}; run training/evaluate.py")
    card = ModelCard.load(folder / CARD_NAME)
    if not card.data.eval_results:
        raise PublishError(f"{str(folder / CARD_NAME)!r} has no model-index metrics; regenerate it with training/make_card.py")
    name = folder.name
    if name in list_models():
        expected, actual = get_entry(name).sha256, file_sha256(folder / WEIGHTS_NAME)
        if actual != expected:
            raise PublishError(f"{str(folder / WEIGHTS_NAME)!r} has sha256 {actual} but the registry records "
                               f"{expected} for {name!r}; update ganzoo/registry.py or restore the weights")
    return metrics


def plan_upload(folder: str | Path, repo_id: str, *, checkpoint: str | Path | None = None,
                checkpoint_branch: str = "training") -> UploadPlan:
    folder = Path(folder)
    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PublishError(f"repo id {repo_id!r} must look like 'owner/name'")
    try:
        check_repo_id(repo_id)
    except ValueError as e:
        raise PublishError(str(e)) from None
    check_folder(folder)
    files = [(p.name, p.stat().st_size, file_sha256(p)) for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith(".")]
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and not ckpt.is_file():
        raise PublishError(f"checkpoint {str(ckpt)!r} does not exist")
    return UploadPlan(repo_id, folder, files, ckpt, checkpoint_branch)


def push(plan: UploadPlan, *, private: bool = False, token: str | None = None) -> str:
    """Create the repo (if needed) and upload exactly the files of the plan (what --dry-run listed,
    nothing else in the folder); returns the commit URL."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token, library_name="ganzoo", library_version=__version__)
    api.create_repo(plan.repo_id, repo_type="model", private=private, exist_ok=True)
    operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(plan.folder / name))
                  for name, _, _ in plan.files]
    info = api.create_commit(repo_id=plan.repo_id, operations=operations, repo_type="model",
                             commit_message=f"Publish {plan.folder.name} with ganzoo {__version__}")
    if plan.checkpoint is not None:
        api.create_branch(plan.repo_id, branch=plan.checkpoint_branch, exist_ok=True)
        api.upload_file(path_or_fileobj=str(plan.checkpoint), path_in_repo=plan.checkpoint.name,
                        repo_id=plan.repo_id, revision=plan.checkpoint_branch,
                        commit_message="Training checkpoint (G, D, EMA, optimizers) for resuming")
    return str(getattr(info, "commit_url", info))
