"""Evaluation of generators in the feature space of a domain classifier.

Inception weights cannot be had here, and they judge 28x28 digits poorly anyway, so the
judge is a small CNN trained on the data set (training/train_classifier.py) and shipped as
safetensors in ganzoo/evaluators/. From its predictions and penultimate features:

- class coverage: share of samples per predicted class; KL(sample mix || data mix)
- requested-class accuracy (conditional models), overall and per class
- FID in the classifier's feature space (Frechet distance of Gaussian fits) and KID (unbiased
  MMD with a cubic polynomial kernel, Binkowski et al. 2018). FID is biased by sample size, so
  samples and real images are compared in equal sets, the size of half the held-out images (the
  floor compares the two halves); it is the mean over every such set of samples drawn, since one
  set of 1,000 MNIST samples moves FID by +-0.7 from one set to the next.
- per-class FID: samples the classifier puts in class c against held-out images of class c, so a
  model that draws every class equally often but some of them badly is seen
- precision / recall of k-NN manifolds (Kynkaanniemi et al. 2019)
- diversity: mean pairwise feature distance, per predicted class, against the data's
- memorisation: nearest-training-image distances of samples against those of held-out data
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from .registry import EVALUATOR_DIR, EVALUATORS, evaluator_names

log = logging.getLogger(__name__)


class DigitClassifier(nn.Module):
    """(B, C, 28, 28) in [0, 1] -> class logits (B, K); ``features`` gives the (B, 128) embedding."""

    def __init__(self, num_classes: int = 10, channels: int = 1, feature_dim: int = 128) -> None:
        super().__init__()
        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*block(channels, 32), *block(32, 32), nn.MaxPool2d(2),   # (B, 32, 14, 14)
                                  *block(32, 64), *block(64, 64), nn.MaxPool2d(2),         # (B, 64, 7, 7)
                                  nn.Flatten(), nn.Linear(64 * 49, feature_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body((x - 0.5) / 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def load_evaluator(dataset: str = "mnist", path: Path | None = None) -> DigitClassifier:
    """The shipped classifier for ``dataset`` (eval mode, CPU)."""
    from .hub import load_weights

    path = path or EVALUATOR_DIR / f"{dataset}-classifier.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"no evaluator for data set {dataset!r} at {str(path)!r}; "
                                f"available: {evaluator_names()}")
    meta = json.loads(path.with_suffix(".json").read_text())
    model = DigitClassifier(num_classes=meta["num_classes"], channels=meta["channels"])
    load_weights(model, path)
    # channels_last: 3x faster on 2 AVX2 cores, with embed's batches of 250 (benchmarks/eval_speed.py)
    return model.eval().to(memory_format=torch.channels_last)


class Embedding(NamedTuple):
    features: torch.Tensor      # (N, 128) float64
    pred: torch.Tensor          # (N,) predicted class
    confidence: torch.Tensor    # (N,) top-class probability; low for ambiguous images


@torch.inference_mode()
def embed(classifier: DigitClassifier, images: torch.Tensor, batch: int = 250, progress: bool = False) -> Embedding:
    """The judge's view of images (N, C, H, W) in [0, 1], from one pass through it."""
    from tqdm.auto import tqdm

    device = next(classifier.parameters()).device
    feats, preds, confs = [], [], []
    for i in tqdm(range(0, images.shape[0], batch), desc="classifying", unit="batch", disable=not progress):
        f = classifier.features(images[i:i + batch].to(device))
        conf, pred = classifier.head(f).softmax(1).max(1)
        feats.append(f.double().cpu())
        preds.append(pred.cpu())
        confs.append(conf.cpu())
    return Embedding(torch.cat(feats), torch.cat(preds), torch.cat(confs))


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """FID between Gaussian fits of feature sets a (N, D) and b (M, D):
    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    sa, sb = torch.cov(a.T.double()), torch.cov(b.T.double())
    # Tr((S_a S_b)^(1/2)) = sum of sqrt of eigenvalues of S_a^(1/2) S_b S_a^(1/2) (symmetric PSD)
    ea, va = torch.linalg.eigh(sa)
    sqrt_a = (va * ea.clamp(min=0).sqrt()) @ va.T
    eig = torch.linalg.eigvalsh(sqrt_a @ sb @ sqrt_a).clamp(min=0)
    return float((mu_a - mu_b).pow(2).sum() + sa.trace() + sb.trace() - 2 * eig.sqrt().sum())


def fid_per_class(fake: torch.Tensor, fake_pred: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor,
                  num_classes: int, size: int = 400) -> tuple[list[float], list[float], int]:
    """(FID per class, its real-vs-real floor, m): per class c, ``m`` samples predicted as c against the
    first ``m`` held-out images labelled c, and the next ``m`` of those against the same first ones.
    m = min(size, half the held-out images of the rarest class); NaN for a class with fewer samples,
    and everywhere when m < 2."""
    m = min(size, int(torch.bincount(real_labels, minlength=num_classes).min()) // 2)
    if m < 2:                                   # too few held-out images of some class for a covariance
        return [float("nan")] * num_classes, [float("nan")] * num_classes, m
    fids, floors = [], []
    for c in range(num_classes):
        r, f = real[real_labels == c], fake[fake_pred == c]
        fids.append(frechet_distance(f[:m], r[:m]) if f.shape[0] >= m else float("nan"))
        floors.append(frechet_distance(r[m:2 * m], r[:m]))
    return fids, floors, m


def kernel_distance(a: torch.Tensor, b: torch.Tensor, *, subsets: int = 20, subset_size: int = 500,
                    seed: int = 0) -> float:
    """KID: mean over random subsets of the unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3."""
    d = a.shape[1]
    m = min(subset_size, a.shape[0], b.shape[0])
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(subsets):
        x = a[torch.randperm(a.shape[0], generator=gen)[:m]].double()
        y = b[torch.randperm(b.shape[0], generator=gen)[:m]].double()
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off = 1 - torch.eye(m, dtype=torch.float64)
        total += float(((kxx * off).sum() + (kyy * off).sum()) / (m * (m - 1)) - 2 * kxy.mean())
    return total / subsets


def _knn_radii(feats: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(feats, feats)
    return d.kthvalue(k + 1, dim=1).values      # +1: the point itself is at distance 0


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Kynkaanniemi et al. 2019: precision = share of fakes inside the real k-NN manifold,
    recall = share of reals inside the fake manifold."""
    r_real, r_fake = _knn_radii(real, k), _knn_radii(fake, k)
    precision = (torch.cdist(fake, real) <= r_real[None]).any(1).double().mean()
    recall = (torch.cdist(real, fake) <= r_fake[None]).any(1).double().mean()
    return float(precision), float(recall)


def mean_pairwise_distance(feats: torch.Tensor) -> float:
    n = feats.shape[0]
    if n < 2:
        return float("nan")
    return float(torch.pdist(feats).mean())


def nearest_distances(queries: torch.Tensor, reference: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """L2 pixel distance from each query image to its nearest reference image, (N,)."""
    q, r = queries.flatten(1).float(), reference.flatten(1).float()
    return torch.cat([torch.cdist(q[i:i + batch], r).min(1).values for i in range(0, q.shape[0], batch)])


@dataclass
class Reference:
    """Real data for comparison.

    heldout: images the evaluator never saw (N, C, H, W) in [0, 1], with their labels;
    train: all images the generator was trained on; rest: train without the held-out ones.
    A sample that copies a training image sits far closer to ``train`` than a real held-out
    digit sits to ``rest``.
    """
    heldout: torch.Tensor
    heldout_labels: torch.Tensor
    train: torch.Tensor
    rest: torch.Tensor


HELDOUT = 2000
SPLIT_SEED = 0


def heldout_split(n: int, heldout: int = HELDOUT, seed: int = SPLIT_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, held-out indices) of a data set of n images without a test split; at most a
    fifth of a small data set is held out."""
    heldout = min(heldout, n // 5)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[heldout:], perm[:heldout]


def load_reference(data: str | Path) -> Reference:
    """Real images to compare with: the data set's own test split when it has one (Fashion-MNIST),
    else the 2,000 images of ``heldout_split`` that the evaluator was not trained on (mnist-10k)."""
    from .data import DatasetError, load_dataset

    ds = load_dataset(data)
    images = ds.images.float() / 255
    try:
        test = load_dataset(data, split="test")
    except DatasetError:
        tr, te = heldout_split(len(ds))
        return Reference(heldout=images[te], heldout_labels=ds.labels[te], train=images, rest=images[tr])
    return Reference(heldout=test.images.float() / 255, heldout_labels=test.labels, train=images, rest=images)


def evaluate_model(spec: str, data: str | Path, *, evaluator: str | None = None, n: int = 10_000, seed: int = 0,
                   device: str = "cpu", progress: bool = False) -> dict:
    """``evaluate`` for anything ganzoo.load takes, recording the evaluator's and the reference's
    sha256 so a figure can be traced to exactly what produced it."""
    import hashlib

    from .hub import load
    from .registry import get_entry, list_models

    if evaluator is None:
        if spec not in list_models():
            raise ValueError(f"name the evaluator for {spec!r} (one of {sorted(set(EVALUATORS.values()))})")
        evaluator = EVALUATORS[get_entry(spec).dataset]
    trained_on = get_entry(spec).dataset if spec in list_models() else None
    data_name = Path(data).resolve().name
    if trained_on is not None and data_name != trained_on:
        log.warning("%s was trained on %s, but the data is %s: its figures compare it with images it was "
                    "never meant to draw", spec, trained_on, data_name)
    if EVALUATORS.get(data_name, evaluator) != evaluator:
        log.warning("the %s evaluator judges %s data, which it was not trained on; its features mean little there",
                    evaluator, data_name)
    classifier = load_evaluator(evaluator).to(device)
    meta = json.loads((EVALUATOR_DIR / f"{evaluator}-classifier.json").read_text())
    ref = load_reference(data)
    result = evaluate(load(spec, device=device), classifier, ref, n=n, seed=seed, progress=progress)
    result.update(model=str(spec), evaluator=evaluator, evaluator_sha256=meta["sha256"],
                  evaluator_heldout_accuracy=meta["heldout_accuracy"],
                  reference_sha256=hashlib.sha256(ref.heldout.numpy().tobytes()).hexdigest())
    return result


def evaluate(generator, classifier: DigitClassifier, reference: Reference, *, n: int = 10_000,
             seed: int = 0, progress: bool = False) -> dict:
    """Metrics of ``generator`` (see module doc); each result records n and seed."""
    num_classes = classifier.head.out_features
    conditional = generator.num_classes is not None
    labels = torch.arange(n) % generator.num_classes if conditional else None
    images = generator.sample(n, labels=labels, seed=seed)
    f_fake, pred, conf_fake = embed(classifier, images, progress=progress)
    f_real, pred_real, conf_real = embed(classifier, reference.heldout)

    share = torch.bincount(pred, minlength=num_classes).double() / n
    data_mix = torch.bincount(reference.heldout_labels, minlength=num_classes).double()
    data_mix /= data_mix.sum()
    kl = float((share * (share.clamp(min=1e-12) / data_mix).log()).sum())
    half = reference.heldout.shape[0] // 2
    precision, recall = precision_recall(f_real[:half], f_fake[:half])
    precision_floor, recall_floor = precision_recall(f_real[:half], f_real[half:2 * half])
    div_fake = [mean_pairwise_distance(f_fake[pred == c][:500]) for c in range(num_classes)]
    div_real = [mean_pairwise_distance(f_real[pred_real == c][:500]) for c in range(num_classes)]
    per_class, per_class_floor, per_class_m = fid_per_class(f_fake, pred, f_real, reference.heldout_labels, num_classes)
    nn_fake = nearest_distances(images[:1000], reference.train)
    nn_real = nearest_distances(reference.heldout[:1000], reference.rest)
    # disjoint sets of samples, each the size of the real half it is compared with
    fid_sets = [frechet_distance(f_fake[i:i + half], f_real[:half]) for i in range(0, n - half + 1, half)]
    fid_sets = fid_sets or [frechet_distance(f_fake, f_real[:half])]
    result = {
        "n": n, "seed": seed,
        "fid_samples": half,    # FID, precision and recall: sets of this many samples vs as many held-out images
        "fid_sets": len(fid_sets),
        "class_share": [round(float(s), 4) for s in share],
        "class_share_min": float(share.min()), "class_share_max": float(share.max()),
        "classes_covered": int((share >= 0.01).sum()),
        "class_kl": kl,
        # equal sizes on both sides, against the same real half, so the two are comparable
        "fid": sum(fid_sets) / len(fid_sets),
        "fid_set_spread": max(fid_sets) - min(fid_sets),
        "fid_floor": frechet_distance(f_real[half:2 * half], f_real[:half]),
        "fid_per_class": [round(v, 2) for v in per_class], "fid_per_class_floor": [round(v, 2) for v in per_class_floor],
        "fid_per_class_samples": per_class_m,
        "kid": kernel_distance(f_fake, f_real[:half]),     # unbiased at any size: subsets from every sample
        "kid_floor": kernel_distance(f_real[half:2 * half], f_real[:half]),
        "precision": precision, "recall": recall,
        "precision_floor": precision_floor, "recall_floor": recall_floor,
        "diversity": float(torch.tensor(div_fake).nanmean() / torch.tensor(div_real).nanmean()),
        "nn_train_distance_median": float(nn_fake.median()),
        "nn_train_distance_median_heldout": float(nn_real.median()),
        "copies": float((nn_fake < 0.5 * nn_real.quantile(0.01)).double().mean()),
        "mean_confidence": float(conf_fake.mean()),
        "mean_confidence_floor": float(conf_real.mean()),
    }
    if conditional:
        correct = pred == labels
        result["class_accuracy"] = float(correct.double().mean())
        result["class_accuracy_per_class"] = [round(float(correct[labels == c].double().mean()), 4)
                                              for c in range(generator.num_classes)]
    return {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v) for k, v in result.items()}
