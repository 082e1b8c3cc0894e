"""Publishing: model cards parse with huggingface_hub, uploads are captured (no network), and
folders that must not be published are refused."""
import json
import shutil

import pytest
from huggingface_hub import HfApi, ModelCard

import ganzoo
from ganzoo import publish
from ganzoo.cli import main


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_card_metadata_parses_and_matches_the_measurements(name):
    folder = ganzoo.get_entry(name).folder
    card = ModelCard.load(folder / "README.md")
    measured = json.loads((folder / "eval.json").read_text())
    entry = ganzoo.get_entry(name)
    assert card.data.library_name == "ganzoo" and card.data.license == "mit"
    assert "gan" in card.data.tags and card.data.model_name == name
    assert card.data.datasets == [{"mnist-10k": "ylecun/mnist", "fashion-mnist": "zalando-datasets/fashion_mnist"}[entry.dataset]]
    assert card.data.pipeline_tag == "unconditional-image-generation"           # a Hub task, for every model
    assert ("class-conditional" in card.data.tags) == bool(entry.num_classes)
    assert {r.task_type for r in card.data.eval_results} == {"unconditional-image-generation"}
    assert {r.dataset_split for r in card.data.eval_results} == {"train"}
    values = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert "fid" not in values and "Inception" in card.text                    # never mistaken for Inception FID
    assert values["fid-classifier-features"] == measured["fid"] and values["kid-classifier-features"] == measured["kid"]
    assert values["precision-knn-classifier-features"] == measured["precision"]
    assert not {"diversity", "copies", "class_share_min"} & set(values)       # ad-hoc figures: the table only
    if entry.num_classes:
        assert values["accuracy-requested-class"] == measured["class_accuracy"]
    assert "pip install ganzoo-models" in card.text and "pip install ganzoo`" not in card.text
    if entry.dataset == "mnist-10k":                                           # the reference is told truthfully
        assert "The generator was trained on all 10,000, these included" in card.text
    assert "which the generator never saw as" not in card.text
    assert f"| {measured['fid']} | {measured['fid_floor']} |" in card.text     # the table shows the floor


@pytest.fixture
def captured(monkeypatch):
    calls = []

    def record(method):
        def fake(self, *args, **kwargs):
            ops = kwargs.get("operations")
            calls.append((method, args, kwargs, sorted(op.path_in_repo for op in ops) if ops is not None else None))
            return "https://huggingface.co/owner/x/commit/0000" if method == "create_commit" else None
        return fake

    for method in ("create_repo", "create_commit", "upload_folder", "create_branch", "upload_file"):
        monkeypatch.setattr(HfApi, method, record(method))
    return calls


def test_push_sends_the_card_folder(captured, capsys):
    assert main(["push", "model_cards/cgan-mnist", "--repo-id", "owner/cgan-mnist"]) == 0
    (m1, create_args, create, _), (m2, _, upload, files) = captured
    assert m1 == "create_repo" and create_args == ("owner/cgan-mnist",) and create["exist_ok"] is True
    assert m2 == "create_commit" and upload["repo_id"] == "owner/cgan-mnist" and upload["repo_type"] == "model"
    assert {"README.md", "config.json", "model.safetensors", "eval.json"} <= set(files)
    assert files == [name for name, _, _ in publish.plan_upload("model_cards/cgan-mnist", "owner/cgan-mnist").files]
    assert "published: https://huggingface.co/owner/x/commit/0000" in capsys.readouterr().out


def test_push_checkpoint_to_a_branch(captured, tmp_path):
    ckpt = tmp_path / "checkpoint.safetensors"
    ckpt.write_bytes(b"x" * 200)
    plan = publish.plan_upload("model_cards/dcgan-mnist", "owner/dcgan-mnist", checkpoint=ckpt)
    publish.push(plan)
    methods = [c[0] for c in captured]
    assert methods == ["create_repo", "create_commit", "create_branch", "upload_file"]
    assert captured[2][2]["branch"] == "training" and captured[3][2]["revision"] == "training"


def test_dry_run_sends_nothing(captured, capsys):
    assert main(["push", "model_cards/dcgan-mnist", "--repo-id", "owner/dcgan-mnist", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert captured == [] and "dry run: nothing was sent" in out
    assert "model.safetensors" in out and ganzoo.get_entry("dcgan-mnist").sha256[:16] in out


@pytest.fixture
def card_copy(tmp_path):
    dest = tmp_path / "dcgan-mnist"
    shutil.copytree(ganzoo.get_entry("dcgan-mnist").folder, dest)
    return dest


def test_refuses_unevaluated_folder(card_copy, captured):
    (card_copy / "eval.json").unlink()
    with pytest.raises(publish.PublishError, match="lacks eval.json; build it with training/make_card.py"):
        publish.plan_upload(card_copy, "owner/dcgan-mnist")
    (card_copy / "eval.json").write_text('{"n": 10}')
    with pytest.raises(publish.PublishError, match="lacks evaluated metrics \\['fid', 'fid_floor', 'seed'"):
        publish.plan_upload(card_copy, "owner/dcgan-mnist")
    assert captured == []


def test_refuses_weights_that_differ_from_the_registry(card_copy, captured, capsys):
    data = bytearray((card_copy / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (card_copy / "model.safetensors").write_bytes(bytes(data))
    assert main(["push", str(card_copy), "--repo-id", "owner/dcgan-mnist"]) == 2
    registered = ganzoo.get_entry("dcgan-mnist").sha256
    assert f"but the registry records {registered[:8]}" in capsys.readouterr().err and captured == []


def test_refuses_card_without_metrics_and_bad_repo_id(card_copy):
    (card_copy / "README.md").write_text("---\nlicense: mit\n---\n# no metrics\n")
    with pytest.raises(publish.PublishError, match="has no model-index metrics"):
        publish.plan_upload(card_copy, "owner/x")
    with pytest.raises(publish.PublishError, match="repo id 'nope' must look like 'owner/name'"):
        publish.plan_upload(card_copy, "nope")


def test_eval_command(digits_dir, tmp_path, capsys):
    ganzoo.save_pretrained(ganzoo.load("dcgan-mnist"), tmp_path / "m")
    out = tmp_path / "res.json"
    assert main(["eval", str(tmp_path / "m"), "--data", str(digits_dir), "--evaluator", "mnist", "-n", "300",
                 "-o", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["n"] == 300 and res["evaluator"] == "mnist" and len(res["reference_sha256"]) == 64
    assert res["fid"] > res["fid_floor"] and "kid" in res
    assert main(["eval", "dcgan-mnist", "--data", str(tmp_path / "none")]) == 2
    assert "data folder" in capsys.readouterr().err


def test_push_sends_exactly_the_files_the_dry_run_lists(card_copy, captured, capsys):
    (card_copy / ".env").write_text("HF_TOKEN=hf_secret\n")
    (card_copy / "notes.txt").write_text("notes\n")
    (card_copy / "samples").mkdir()
    (card_copy / "samples" / "extra.png").write_bytes(b"png")
    assert main(["push", str(card_copy), "--repo-id", "owner/dcgan-mnist", "--dry-run"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert ".env" not in listed and "notes.txt" in listed and not any("extra.png" in f for f in listed)
    assert main(["push", str(card_copy), "--repo-id", "owner/dcgan-mnist"]) == 0
    sent = next(files for method, _, _, files in captured if method == "create_commit")
    assert sent == listed and not any(m == "upload_folder" for m, *_ in captured)


def test_truncated_weights_are_refused_before_anything_is_sent(card_copy, captured, capsys):
    other = card_copy.parent / "my-model"                 # not a zoo name: no registry sha256 to compare with
    card_copy.rename(other)
    weights = other / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    assert main(["push", str(other), "--repo-id", "owner/my-model", "--dry-run"]) == 2
    assert "is not a readable safetensors file" in capsys.readouterr().err and captured == []


@pytest.mark.parametrize("repo_id", ["me/bad name!", "me/a..b", "me/" + "x" * 200, "me/-x"])
def test_repo_ids_are_validated_as_the_hub_does(card_copy, repo_id, captured, capsys):
    assert main(["push", str(card_copy), f"--repo-id={repo_id}", "--dry-run"]) == 2
    assert "is not a valid Hub repo id" in capsys.readouterr().err and captured == []
