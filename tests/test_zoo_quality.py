"""The shipped zoo still meets its quality bars, judged by the shipped classifiers (MNIST:
99.1% on 2,000 held-out digits; Fashion-MNIST: 93.1% on its test set). Needs no data set:
only samples and the classifiers."""
import json
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo import metrics
from tests.conftest import REPO

N = 5000


def judge_of(name: str):
    return metrics.load_evaluator(metrics.EVALUATORS[ganzoo.get_entry(name).dataset])


@pytest.fixture(scope="module")
def judge():
    return metrics.load_evaluator("mnist")


def shares(judge, images):
    pred = metrics.embed(judge, images).pred
    return torch.bincount(pred, minlength=10).double() / len(pred)


@pytest.mark.parametrize("name", ["dcgan-mnist", "cgan-mnist", "dcgan-fashion", "cgan-fashion"])
def test_every_class_between_6_and_14_percent(name):
    s = shares(judge_of(name), ganzoo.load(name).sample(N, seed=123))
    assert s.min() >= 0.06 and s.max() <= 0.14, s.tolist()


def test_vanilla_draws_at_least_nine_classes(judge):
    s = shares(judge, ganzoo.load("vanilla-mnist").sample(N, seed=123))
    assert (s >= 0.02).sum() >= 9, s.tolist()


def test_cgan_draws_the_requested_class_and_varies_within_it(judge):
    g = ganzoo.load("cgan-mnist")
    labels = torch.arange(N) % 10
    images = g.sample(N, labels=labels, seed=123)
    pred = metrics.embed(judge, images).pred
    assert (pred == labels).double().mean() >= 0.99
    # not one prototype per class: the nearest other sample of the same class is far away
    spread = torch.stack([metrics.nearest_distances(images[labels == c][:50], images[labels == c][50:300]).mean()
                          for c in range(10)])
    assert spread.min() > 1.5, spread.tolist()   # one prototype plus noise scores ~0.4


def test_cgan_fashion_draws_the_requested_class():
    g = ganzoo.load("cgan-fashion")
    labels = torch.arange(N) % 10
    pred = metrics.embed(judge_of("cgan-fashion"), g.sample(N, labels=labels, seed=123)).pred
    per_class = torch.stack([(pred[labels == c] == c).double().mean() for c in range(10)])
    assert (pred == labels).double().mean() >= 0.95 and per_class.min() >= 0.8, per_class.tolist()


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_samples_are_not_copies_of_each_other(name):
    x = ganzoo.load(name).sample(400, seed=5)
    d = metrics.nearest_distances(x[:200], x[200:])
    assert d.min() > 1.0


# Where the data sets are on these machines (`apt-get install dataset-fashion-mnist` for Fashion).
DATA = {"mnist-10k": REPO.parent / "shared" / "data" / "mnist-10k",
        "fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}


@pytest.mark.slow
@pytest.mark.parametrize("name", ganzoo.list_models())
def test_card_figures_are_what_the_shipped_weights_score(name):
    """Every figure of a card, measured again from the bundled weights against the real data."""
    data = DATA[ganzoo.get_entry(name).dataset]
    if not data.is_dir():
        pytest.skip(f"{data} is not on this machine")
    card = json.loads((ganzoo.get_entry(name).folder / "eval.json").read_text())
    now = metrics.evaluate_model(name, data, n=card["n"], seed=card["seed"])
    assert (now["reference_sha256"], now["evaluator_sha256"]) == (card["reference_sha256"], card["evaluator_sha256"])
    for key in ("fid", "fid_floor", "precision", "recall", "class_share_min", "class_share_max", "class_accuracy",
                "fid_per_class", "fid_per_class_floor"):
        if key in card:
            assert now[key] == pytest.approx(card[key], rel=0.01, abs=2e-3), key
