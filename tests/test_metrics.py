"""Metrics on known inputs, and the shipped evaluator."""
import json
import shutil

import pytest
import torch

import ganzoo
from ganzoo import metrics
from ganzoo.metrics import evaluate_model
from tests.conftest import make_digits


def test_frechet_distance_known_values():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    # N(0, I) vs N(mu, 4I) in 3-D: |mu|^2 + 3 (1 + 4 - 2 * 2) = |mu|^2 + 3
    b = torch.randn(4000, 3, generator=g, dtype=torch.float64) * 2 + torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64)
    assert metrics.frechet_distance(a, b) == pytest.approx(9 + 3, rel=0.05)


def test_fid_per_class_finds_the_one_badly_drawn_class():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 4, generator=g, dtype=torch.float64) * 10
    real_labels = torch.arange(3000) % 3
    real = centres[real_labels] + torch.randn(3000, 4, generator=g, dtype=torch.float64)
    fake_pred = torch.arange(1500) % 3
    fake = centres[fake_pred] + torch.randn(1500, 4, generator=g, dtype=torch.float64)
    fake[fake_pred == 1] += 3.0                           # class 1 drawn off: |shift|^2 = 4 * 9
    fids, floors, m = metrics.fid_per_class(fake, fake_pred, real, real_labels, 3)
    assert m == 400
    assert fids[1] == pytest.approx(36, rel=0.15)
    assert fids[0] < 0.3 and fids[2] < 0.3 and max(floors) < 0.3
    # a class the model never draws has no figure rather than a figure from too few samples
    fids, _, _ = metrics.fid_per_class(fake[fake_pred != 2], fake_pred[fake_pred != 2], real, real_labels, 3)
    assert fids[2] != fids[2] and fids[0] < 0.3
    # a held-out set with fewer than 4 images of some class gives no per-class figures, not an error
    fids, floors, m = metrics.fid_per_class(fake, fake_pred, real[:9], real_labels[:9], 3)
    assert m == 1 and all(v != v for v in fids + floors)


def test_precision_recall_detects_mode_dropping():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(600, 2, generator=g)
    same = torch.randn(600, 2, generator=g)
    collapsed = real[:20].repeat(30, 1) + 0.01 * torch.randn(600, 2, generator=g)
    p, r = metrics.precision_recall(real, same)
    assert p > 0.9 and r > 0.9
    p, r = metrics.precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.3


def test_nearest_distances_find_copies():
    ref = torch.rand(50, 1, 4, 4)
    queries = torch.cat([ref[:5], torch.rand(5, 1, 4, 4)])
    d = metrics.nearest_distances(queries, ref)
    # cdist's matrix-product path leaves ~1e-3 on exact copies; random images are ~1 apart
    assert torch.all(d[:5] < 1e-2) and torch.all(d[5:] > 0.1)


def test_shipped_evaluator_recognises_digits():
    clf = metrics.load_evaluator("mnist")
    assert clf.head.out_features == 10
    images, _ = make_digits(20)
    x = torch.from_numpy(images).float()[:, None] / 255
    feats, preds, confidence = metrics.embed(clf, x, batch=8)      # batches of 8, 8 and 4
    assert feats.shape == (20, 128) and feats.dtype == torch.float64 and preds.shape == confidence.shape == (20,)
    with torch.inference_mode():
        probs = clf(x).softmax(1)                                 # the whole classifier, in one batch
    assert torch.equal(preds, probs.argmax(1))
    torch.testing.assert_close(confidence, probs.max(1).values)
    assert confidence.min() > 0.1 and confidence.max() <= 1
    with pytest.raises(FileNotFoundError, match="no evaluator for data set 'cifar'.*available: \\['fashion', 'mnist'\\]"):
        metrics.load_evaluator("cifar")


def test_every_zoo_data_set_has_a_shipped_evaluator_and_the_cli_offers_exactly_those(capsys):
    from ganzoo.cli import main
    assert metrics.evaluator_names() == sorted(set(metrics.EVALUATORS.values())) == ["fashion", "mnist"]
    assert {ganzoo.get_entry(n).dataset for n in ganzoo.list_models()} <= set(metrics.EVALUATORS)
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "dcgan-mnist", "--data", ".", "--evaluator", "cifar"])
    assert exit_.value.code == 2
    assert "invalid choice: 'cifar' (choose from 'fashion', 'mnist')" in capsys.readouterr().err


def test_evaluate_records_its_settings():
    from tests.conftest import tiny_generator
    g = tiny_generator("cgan")
    real = torch.from_numpy(make_digits(64)[0]).float()[:, None] / 255
    ref = metrics.Reference(heldout=real[:40], heldout_labels=torch.arange(40) % 10, train=real, rest=real[40:])
    res = metrics.evaluate(g, metrics.load_evaluator(), ref, n=60, seed=3)
    assert res["n"] == 60 and res["seed"] == 3 and len(res["class_share"]) == 10
    assert sum(res["class_share"]) == pytest.approx(1, abs=1e-3)
    assert 0 <= res["class_accuracy"] <= 1 and len(res["class_accuracy_per_class"]) == 10
    assert res["fid"] > res["fid_floor"]
    # FID averages the three disjoint sets of 20 samples (the real half's size); the first set alone
    # is what 20 samples from the same seed score
    assert res["fid_samples"] == 20 and res["fid_sets"] == 3 and res["fid_set_spread"] > 0
    first = metrics.evaluate(g, metrics.load_evaluator(), ref, n=20, seed=3)
    assert first["fid_sets"] == 1 and first["fid_set_spread"] == 0 and first["fid"] != res["fid"]
    assert abs(first["fid"] - res["fid"]) <= res["fid_set_spread"]
    assert len(res["fid_per_class"]) == len(res["fid_per_class_floor"]) == 10


def test_evaluate_script_measures_fid_under_other_sampling_seeds(digits_dir, tmp_path):
    import json

    from training import evaluate as script
    assert script.main(["dcgan-mnist", "--data", str(digits_dir), "-n", "120", "--spread", "2",
                        "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "dcgan-mnist.json").read_text())
    assert list(res["fid_by_seed"]) == ["0", "1", "2"] and res["fid_by_seed"]["0"] == res["fid"]
    # other latents, other samples: a different figure, the same generator
    assert len(set(res["fid_by_seed"].values())) == 3
    assert metrics.evaluate_model("dcgan-mnist", digits_dir, n=120, seed=1)["fid"] == res["fid_by_seed"]["1"]


def test_evaluating_a_model_on_data_it_was_not_trained_on_is_warned_about(digits_dir, tmp_path, caplog):
    shutil.copytree(digits_dir, tmp_path / "fashion-mnist")
    with caplog.at_level("WARNING", logger="ganzoo.metrics"):
        res = evaluate_model("dcgan-mnist", tmp_path / "fashion-mnist", n=200)
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "dcgan-mnist was trained on mnist-10k, but the data is fashion-mnist" in warned
    assert "the mnist evaluator judges fashion-mnist data" in warned and res["n"] == 200
    caplog.clear()
    shutil.copytree(digits_dir, tmp_path / "mnist-10k")
    with caplog.at_level("WARNING", logger="ganzoo.metrics"):
        evaluate_model("dcgan-mnist", tmp_path / "mnist-10k", n=200)
    assert not caplog.records


@pytest.mark.parametrize("name", ["mnist", "fashion"])
def test_evaluator_files_say_what_they_are_in_their_safetensors_header(name):
    from safetensors import safe_open
    from ganzoo.hub import file_sha256
    from ganzoo.registry import EVALUATOR_DIR
    path = EVALUATOR_DIR / f"{name}-classifier.safetensors"
    header = safe_open(path, framework="pt").metadata()
    record = json.loads(path.with_suffix(".json").read_text())
    assert header["ganzoo_evaluator"] == name and header["num_classes"] == "10"
    assert float(header["heldout_accuracy"]) == record["heldout_accuracy"] and header["heldout"] == record["heldout"]
    assert file_sha256(path) == record["sha256"]
