"""The trainer: short runs of every family, determinism, exact resume, crash safety, bad input."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.hub import file_sha256
from tests.conftest import REPO, TINY, tiny_generator
from training import checkpoint as ckpt
from training import train
from training.export_checkpoint import export_checkpoint, main as export_main
from training.config import TrainingError, load_config
from training.export import recalibrate_batchnorm
from training.losses import LOSSES
from training.train import Trainer

TINY_MODEL = {"vanilla": ["model.hidden_dim=8"], "dcgan": ["model.ngf=8", "model.ndf=8"],
              "cgan": ["model.ngf=8", "model.ndf=8", "model.feature_dim=16", "model.embed_dim=4"]}


def recipe(family: str, data: Path, out: Path, *extra: str):
    """A tiny run of the family's MNIST recipe. On the CPU even where there is a GPU, because these
    tests check what the trainer promises on the CPU (bit-identical reruns and resumes); the GPU
    tests below pass cpu=false."""
    return load_config(REPO / f"training/configs/{family}-mnist.yaml",
                       [f"data={data}", f"out={out}", "batch_size=32", "max_steps=20", "checkpoint_every=10",
                        "log_every=5", "sample_epochs=[1, -1]", "cpu=true", *TINY_MODEL[family], *extra])


def weights(folder: Path) -> bytes:
    return (folder / "model.safetensors").read_bytes()


@pytest.mark.parametrize("family", list(TINY))
def test_twenty_steps_write_a_loadable_model(family, digits_dir, tmp_path):
    out = Trainer(recipe(family, digits_dir, tmp_path / family)).run()
    g = ganzoo.load(out)
    assert g.config == ganzoo.make_config(family, {**load_config(REPO / f"training/configs/{family}-mnist.yaml").model,
                                                   **{o.split("=")[0][6:]: int(o.split("=")[1]) for o in TINY_MODEL[family]}})
    assert g.sample(4, seed=0).shape == (4, 1, 28, 28)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5, 10, 15, 20]
    assert all(set(r) >= {"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} for r in log)
    assert all(0 <= r["d_real"] <= 1 and r["images_per_s"] > 0 for r in log)
    assert all(("loss_cls" in r) == (family == "cgan") for r in log)     # only a D with a class head
    for f in ("loss_curve.png", "interpolation.gif", "checkpoint.safetensors", "train_config.yaml",
              "samples/epoch_0001.png", "samples/epoch_0003.png"):
        assert (out / f).is_file(), f
    assert json.loads((out / "train_summary.json").read_text())["steps"] == 20


def test_training_changes_the_generator(digits_dir, tmp_path):
    cfg = recipe("dcgan", digits_dir, tmp_path / "a")
    tr = Trainer(cfg)
    before = {k: v.clone() for k, v in tr.G.state_dict().items()}
    tr.run()
    after = tr.G.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())


def test_same_seed_same_weights_other_seed_different(digits_dir, tmp_path):
    a = Trainer(recipe("dcgan", digits_dir, tmp_path / "a", "r1_gamma=1.0")).run()
    b = Trainer(recipe("dcgan", digits_dir, tmp_path / "b", "r1_gamma=1.0")).run()
    c = Trainer(recipe("dcgan", digits_dir, tmp_path / "c", "r1_gamma=1.0", "seed=1")).run()
    assert weights(a) == weights(b) and weights(a) != weights(c)


class Interrupt(Exception):
    pass


def crash_at_step(monkeypatch, step_at: int) -> None:
    """Make Trainer.train_step raise Interrupt when the run reaches step_at (undo: monkeypatch.undo)."""
    step = Trainer.train_step

    def dies(self):
        if self.step == step_at:
            raise Interrupt
        step(self)

    monkeypatch.setattr(Trainer, "train_step", dies)


def test_resume_takes_the_learning_rates_and_betas_of_the_recipe_not_of_the_checkpoint(digits_dir, tmp_path):
    Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "max_steps=4", "checkpoint_every=4")).run()
    resumed = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "max_steps=8", "lr_g=5e-5", "lr_d=1e-4",
                             "betas=[0.0, 0.99]"), resume=True)
    assert resumed.step == 4
    assert [g["lr"] for g in resumed.opt_g.param_groups] == [5e-5]
    assert [g["lr"] for g in resumed.opt_d.param_groups] == [1e-4]
    assert resumed.opt_g.param_groups[0]["betas"] == (0.0, 0.99)
    assert resumed.opt_g.state                      # Adam's moments still come from the checkpoint


def test_resume_takes_the_sgd_momentum_of_the_recipe(digits_dir, tmp_path):
    Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "optimizer=sgd", "max_steps=4", "checkpoint_every=4")).run()
    resumed = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "optimizer=sgd", "momentum=0.5", "max_steps=8"),
                      resume=True)
    assert resumed.step == 4 and [g["momentum"] for g in resumed.opt_d.param_groups] == [0.5]


@pytest.mark.parametrize("family", ["dcgan", "cgan"])
def test_resume_after_interruption_matches_uninterrupted(family, digits_dir, tmp_path, monkeypatch):
    extra = ("r1_gamma=1.0", "instance_noise=0.2", "label_smoothing=0.1", "d_steps=2", "max_steps=16",
             "checkpoint_every=4")
    full = Trainer(recipe(family, digits_dir, tmp_path / "full", *extra)).run()
    crash_at_step(monkeypatch, 11)
    with pytest.raises(Interrupt):
        Trainer(recipe(family, digits_dir, tmp_path / "cut", *extra)).run()
    monkeypatch.undo()
    assert ckpt.load_checkpoint(tmp_path / "cut" / ckpt.CHECKPOINT_NAME)["step"] == 8
    resumed = Trainer(recipe(family, digits_dir, tmp_path / "cut", *extra), resume=True)
    assert resumed.step == 8
    before = ckpt.load_checkpoint(tmp_path / "cut" / ckpt.CHECKPOINT_NAME)["seconds"]
    assert before > 0 and resumed.state.seconds_before == before    # the time before the crash is kept
    out = resumed.run()
    assert weights(out) == weights(full)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["seconds_total"] == pytest.approx(before + summary["seconds_this_session"], abs=0.02)
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))                 # lines past the checkpoint were dropped


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("family", list(TINY))
def test_training_on_the_gpu_in_bf16_resumes_and_exports(family, digits_dir, tmp_path, monkeypatch):
    """The GPU path end to end: R1 (double backward) under bf16 autocast, a crash, --resume, the export."""
    extra = ("cpu=false", "mixed_precision=bf16", "channels_last=true", "r1_gamma=1.0", "instance_noise=0.1",
             "max_steps=16", "checkpoint_every=4")
    crash_at_step(monkeypatch, 11)
    first = Trainer(recipe(family, digits_dir, tmp_path / "run", *extra))
    assert first.device.type == "cuda"
    with pytest.raises(Interrupt):
        first.run()
    monkeypatch.undo()
    resumed = Trainer(recipe(family, digits_dir, tmp_path / "run", *extra), resume=True)
    assert resumed.step == 8 and resumed.rng.device.type == "cuda"
    out = resumed.run()
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 16 and summary["device"] == torch.cuda.get_device_name()
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5, 10, 15, 16]       # every log_every steps, and the last
    assert all(torch.isfinite(torch.tensor([r["loss_d"], r["loss_g"]])).all() for r in log)
    g = ganzoo.load(out)                                     # saved from the GPU, loaded on the CPU
    labels = [0, 1, 2, 3] if g.num_classes else None
    x = g.sample(4, labels=labels, seed=0)
    assert torch.isfinite(x).all() and x.std() > 0
    on_gpu = ganzoo.load(out, device="cuda").sample(4, labels=labels, seed=0)
    assert torch.allclose(x, on_gpu, atol=2e-3)
    on_cpu = Trainer(recipe(family, digits_dir, tmp_path / "run", "max_steps=20"), resume=True)   # another machine
    assert on_cpu.device.type == "cpu" and on_cpu.step == 16
    assert json.loads((on_cpu.run() / "train_summary.json").read_text())["steps"] == 20


def test_resume_from_a_checkpoint_of_another_kind_of_device(digits_dir, tmp_path, caplog):
    """A GPU's random state (16 bytes of Philox seed and offset) cannot go into the CPU's
    generator: the resumed run reseeds it from (seed, step), says so, and is still reproducible."""
    Trainer(recipe("dcgan", digits_dir, tmp_path / "gpu", "max_steps=4", "checkpoint_every=4")).run()
    path = tmp_path / "gpu" / ckpt.CHECKPOINT_NAME
    st = ckpt.load_checkpoint(path)
    st["rng"] = torch.tensor([7, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0], dtype=torch.uint8)
    ckpt.save_checkpoint(st, path)
    runs = []
    for copy in ("a", "b"):
        shutil.copytree(tmp_path / "gpu", tmp_path / copy)
        caplog.clear()
        resumed = Trainer(recipe("dcgan", digits_dir, tmp_path / copy, "max_steps=8"), resume=True)
        assert resumed.step == 4 and "another kind of device" in caplog.text
        runs.append(weights(resumed.run()))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("family", ["dcgan", "vanilla"])
@pytest.mark.parametrize("ema_decay", [0.999, 0])
def test_export_checkpoint_gives_the_generator_the_run_exports(family, ema_decay, digits_dir, tmp_path, capsys):
    out = Trainer(recipe(family, digits_dir, tmp_path / "run", f"ema_decay={ema_decay}")).run()
    assert export_main([str(out)]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert folder == out / "step-000020"
    exported, final = ganzoo.load(folder), ganzoo.load(out)
    assert exported.config == final.config
    assert torch.equal(exported.sample(16, seed=3), final.sample(16, seed=3))
    assert json.loads((folder / "config.json").read_text())["training"]["steps"] == 20


@pytest.mark.parametrize("family", list(TINY))
def test_recalibrated_batchnorm_statistics_are_the_generators_own(family):
    g = tiny_generator(family)
    bns = [m for m in g.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:                                      # statistics measured under other weights
        m.running_mean.fill_(0.5)
        m.running_var.fill_(3.0)
    params = {k: v.clone() for k, v in g.named_parameters()}
    z = torch.randn(2048, g.latent_dim, generator=torch.Generator().manual_seed(1))
    y = None if g.num_classes is None else torch.arange(2048) % g.num_classes

    def gap():                                         # eval-mode output against batch-statistics output
        with torch.no_grad():
            g.eval()
            out_eval = g(z, y)
            g.train()
            out_batch = g(z, y)
            g.eval()
        return float((out_eval - out_batch).abs().mean())

    for m in bns:                                      # the gap check must not move the statistics
        m.momentum = 0.0
    before = gap()
    for m in bns:
        m.momentum = 0.1
    assert recalibrate_batchnorm(g, batches=40, batch_size=64, seed=0) == {"batches": 40, "batch_size": 64, "seed": 0}
    assert not g.training and all(m.momentum == 0.1 for m in bns)
    assert all(torch.equal(v, params[k]) for k, v in g.named_parameters())
    for m in bns:
        m.momentum = 0.0
    after = gap()
    assert after < 0.01 < before, (before, after)


def test_recalibration_leaves_a_generator_without_batchnorm_alone():
    g = torch.nn.Linear(2, 2)
    assert recalibrate_batchnorm(g, batches=5, batch_size=4) is None


@pytest.mark.parametrize("bn_batches", [200, 0])
def test_run_exports_the_ema_generator_with_recalibrated_batchnorm(bn_batches, digits_dir, tmp_path):
    out = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", f"bn_batches={bn_batches}")).run()
    training = json.loads((out / "config.json").read_text())["training"]
    g = ganzoo.load(out)
    st = ckpt.load_checkpoint(out / ckpt.CHECKPOINT_NAME)
    averaged = {k.removeprefix("module."): v for k, v in st["ema"].items()}
    stats = [k for k in g.state_dict() if k.endswith("running_mean")]
    assert stats
    if bn_batches:
        assert training["bn_recalibrated"] == {"batches": 200, "batch_size": 32, "seed": 0}
        assert all(not torch.allclose(g.state_dict()[k], averaged[k]) for k in stats)
    else:
        assert "bn_recalibrated" not in training
        assert all(torch.equal(g.state_dict()[k], averaged[k]) for k in stats)
    weights_only = [k for k in g.state_dict() if "running" not in k and "num_batches" not in k]
    assert all(torch.equal(g.state_dict()[k], averaged[k]) for k in weights_only)


def test_recalibrate_bn_script_rewrites_a_model_folder(tmp_path, capsys):
    from training.recalibrate_bn import main as recal_main

    folder = ganzoo.save_pretrained(tiny_generator("dcgan"), tmp_path / "m", name="tiny", training={"steps": 7})
    before = ganzoo.load(folder).sample(8, seed=0)
    assert recal_main([str(folder), "--batches", "3"]) == 0
    training = json.loads((folder / "config.json").read_text())["training"]
    assert training == {"steps": 7, "bn_recalibrated": {"batches": 3, "batch_size": 128, "seed": 0}}
    assert not torch.equal(ganzoo.load(folder).sample(8, seed=0), before)
    with pytest.raises(SystemExit):
        recal_main([str(folder), "--batches", "0"])
    assert "--batches must be at least 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        recal_main([str(tmp_path / "nothing")])
    assert "is not a model folder: no config.json" in capsys.readouterr().err


def test_export_checkpoint_without_a_checkpoint(tmp_path, capsys):
    assert export_main([str(tmp_path)]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_crash_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / ckpt.CHECKPOINT_NAME
    ckpt.save_checkpoint({"step": 1, "w": torch.ones(3)}, path)

    def dies_half_way(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 100)      # a partial write ...
        raise OSError("disk full")                      # ... then the crash

    monkeypatch.setattr(ckpt, "save_file", dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint({"step": 2, "w": torch.zeros(3)}, path)
    state = ckpt.load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT_NAME]   # no temp file left


def test_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / ckpt.CHECKPOINT_NAME
    ckpt.save_checkpoint({"step": 3, "w": torch.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ckpt.CheckpointError, match="not a readable ganzoo checkpoint"):
        ckpt.load_checkpoint(path)


def test_checkpoint_round_trips_optimizer_state(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), betas=(0.5, 0.999))
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    ckpt.save_checkpoint({"opt": opt.state_dict(), "rng": torch.Generator().manual_seed(5).get_state()}, tmp_path / "c")
    state = ckpt.load_checkpoint(tmp_path / "c")
    opt2 = torch.optim.Adam(model.parameters())
    opt2.load_state_dict(state["opt"])
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(v, opt2.state_dict()["state"][0][k])
    assert opt2.param_groups[0]["betas"] == [0.5, 0.999] or tuple(opt2.param_groups[0]["betas"]) == (0.5, 0.999)


@pytest.mark.parametrize("overrides,match", [
    (["data=/no/such/folder"], "data set folder '/no/such/folder' does not exist"),
    (["model.image_size=32"], "has 28x28 images but the model expects 32x32"),
    (["model.channels=3"], "has 1 channel\\(s\\) but the model expects 3"),
    (["loss=wasserstein"], "loss='wasserstein' is not one of minimax, nonsaturating, hinge, wgan-gp"),
    (["lr_g=fast"], "lr_g must be a number, got 'fast'"),
    (["colour=red"], "unknown recipe option\\(s\\) \\['colour'\\]"),
    (["batch_size=4096"], "batch_size 4096 x 1 process\\(es\\) exceeds the 256 images"),
    (["model.depth=3"], "unknown dcgan config option\\(s\\) \\['depth'\\]"),
    (["top_k=0"], "top_k must be in \\(0, 1\\], got 0.0"),
    (["top_k=1.5"], "top_k must be in \\(0, 1\\], got 1.5"),
    (["bn_batches=-1"], "bn_batches must be an int >= 0, got -1"),
    (["lr_g=-1"], "lr_g must be in \\[0, inf\\), got -1.0"),
    (["lr_d=nan"], "lr_d must be a number, got nan"),
    (["seed=abc"], "seed must be an int, got 'abc'"),
    (["seed=1.5"], "seed must be an int, got 1.5"),
    (["betas=[2,3]"], "betas must be two numbers in \\[0, 1\\), got \\[2.0, 3.0\\]"),
    (["model=5"], "model must be a mapping"),
    (["sample_epochs=abc"], "sample_epochs must be a list of ints"),
    (["r1_gamma=-1"], "r1_gamma must be in \\[0, inf\\), got -1.0"),
    (["instance_noise=-1"], "instance_noise must be in \\[0, inf\\), got -1.0"),
    (["max_steps=0"], "max_steps must be an int >= 1 \\(or absent: train all epochs\\), got 0"),
    (["max_loss=-1"], "max_loss must be in \\(0, inf\\), got -1.0"),
    (["ema_decay=1"], "ema_decay must be in \\[0, 1\\), got 1.0"),
    (["mixed_precision=fp8"], "mixed_precision='fp8' is not one of no, bf16"),
])
def test_bad_input(overrides, match, digits_dir, tmp_path):
    with pytest.raises(TrainingError, match=match):
        Trainer(recipe("dcgan", digits_dir, tmp_path / "x", *overrides))


def test_mixed_precision_no_is_read_as_the_word_not_as_yaml_false(tmp_path):
    # YAML 1.1 reads a bare `no` as False, in a recipe file as on the command line
    (tmp_path / "r.yaml").write_text((REPO / "training/configs/dcgan-mnist.yaml").read_text() + "mixed_precision: no\n")
    assert load_config(tmp_path / "r.yaml").mixed_precision == "no"
    assert load_config(REPO / "training/configs/dcgan-mnist.yaml", ["mixed_precision=no"]).mixed_precision == "no"
    assert load_config(REPO / "training/configs/dcgan-mnist.yaml", ["mixed_precision=bf16"]).mixed_precision == "bf16"


def test_top_k_gives_the_generator_loss_only_the_fakes_d_scores_highest(digits_dir, tmp_path):
    tr = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "top_k=0.75", "max_steps=3"))
    seen, g_loss = {}, tr.gan_step.g_loss
    d_outputs = tr.gan_step._d

    def record_d(x, y, with_classes):
        out = d_outputs(x, y, with_classes)
        seen["logits"] = out[0].detach()                              # the last call of a step is G's
        return out

    def record_g(logits):
        seen["g_input"] = logits.detach()
        return g_loss(logits)

    tr.gan_step._d, tr.gan_step.g_loss = record_d, record_g
    tr.run()
    assert seen["g_input"].shape == (24,)                         # 0.75 of the batch of 32
    assert torch.equal(seen["g_input"].sort().values, seen["logits"].float().sort().values[8:])


@pytest.mark.parametrize("precision, fast_bf16, warned", [("bf16", False, True), ("bf16", True, False),
                                                        ("no", False, False)])
def test_bf16_on_a_cpu_without_bf16_instructions_is_warned_about(precision, fast_bf16, warned, digits_dir, tmp_path,
                                                                 monkeypatch, caplog):
    from accelerate.state import AcceleratorState
    monkeypatch.setattr(train, "cpu_has_fast_bf16", lambda: fast_bf16)
    AcceleratorState._reset_state(reset_partial_state=True)     # a new mixed-precision setting needs a new state
    try:
        with caplog.at_level("WARNING", logger="ganzoo.train"):
            used = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", f"mixed_precision={precision}")).acc.mixed_precision
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    assert used == precision
    hits = [r.getMessage() for r in caplog.records if "without bf16 instructions" in r.getMessage()]
    assert len(hits) == int(warned)
    if warned:
        assert "use mixed_precision=no" in hits[0]


def test_unlabelled_data_for_conditional_model(digits_dir, tmp_path):
    (tmp_path / "unlabelled").mkdir()
    (tmp_path / "unlabelled" / "train-images-idx3-ubyte.gz").write_bytes(
        (digits_dir / "train-images-idx3-ubyte.gz").read_bytes())
    with pytest.raises(TrainingError, match="needs labels in 0..9"):
        Trainer(recipe("cgan", tmp_path / "unlabelled", tmp_path / "x"))


def test_label_supervision_trains_the_class_head_and_the_generator_stays_unconditional(digits_dir, tmp_path):
    tr = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "model.aux_classes=10", "class_entropy=0.5",
                        "max_steps=30", "lr_d=1e-3"))
    D = tr.acc.unwrap_model(tr.D)
    x, y = tr.images.float().div(255), tr.labels
    D.eval()
    with torch.no_grad():
        before = torch.nn.functional.cross_entropy(D(x, with_classes=True)[1], y).item()
    tr.run()
    D.eval()
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(D(x, with_classes=True)[1], y).item()
    assert after < 0.8 * before                      # the head learns the real labels
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert all(r["loss_cls"] > 0 for r in log) and log[-1]["loss_cls"] < log[0]["loss_cls"]
    g = ganzoo.load(tmp_path / "run")
    assert g.num_classes is None and g.config.aux_classes == 10 and g.sample(2, seed=0).shape == (2, 1, 28, 28)


def test_resume_adds_a_class_head_to_a_run_trained_without_one(digits_dir, tmp_path):
    Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "max_steps=4", "checkpoint_every=4")).run()
    saved = ckpt.load_checkpoint(tmp_path / "run" / ckpt.CHECKPOINT_NAME)
    resumed = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "max_steps=8", "model.aux_classes=10",
                             "class_entropy=0.5"), resume=True)
    D = resumed.acc.unwrap_model(resumed.D)
    assert all(torch.equal(D.state_dict()[k], v) for k, v in saved["D"].items())
    state = resumed.opt_d.state_dict()["state"]
    assert set(state) == set(saved["opt_d"]["state"])          # Adam's moments kept; the head's start empty
    assert all(torch.equal(state[i]["exp_avg"], saved["opt_d"]["state"][i]["exp_avg"]) for i in state)
    resumed.run()
    assert resumed.step == 8 and len(resumed.opt_d.state_dict()["state"]) == len(list(D.parameters()))
    with pytest.raises(TrainingError, match="does not fit the recipe: missing \\[\\], unexpected \\['aux.weight'"):
        Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "max_steps=12"), resume=True)   # the head dropped
    with pytest.raises(TrainingError, match="(?s)does not fit the recipe; resume with the model options.*size mismatch"):
        Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "max_steps=12", "model.ngf=16"), resume=True)


def test_init_from_starts_g_and_its_ema_from_a_shipped_generator_and_d_untrained(digits_dir, tmp_path):
    src = Trainer(recipe("dcgan", digits_dir, tmp_path / "src", "max_steps=4", "checkpoint_every=4")).run()
    shipped = ganzoo.load(src).state_dict()                 # the exported EMA G, batch norm re-measured
    tr = Trainer(recipe("dcgan", digits_dir, tmp_path / "ft", "max_steps=4", "checkpoint_every=4", f"init_from={src}"))
    for g in (tr.acc.unwrap_model(tr.G), tr.ema.module):
        assert all(torch.equal(g.state_dict()[k], v) for k, v in shipped.items())   # weights and BN buffers
    fresh = Trainer(recipe("dcgan", digits_dir, tmp_path / "new", "max_steps=4"))
    assert all(torch.equal(tr.acc.unwrap_model(tr.D).state_dict()[k], v)           # D as a run from scratch
               for k, v in fresh.acc.unwrap_model(fresh.D).state_dict().items())
    assert not torch.equal(fresh.G.state_dict()["net.0.weight"], shipped["net.0.weight"])
    tr.run()
    tuned = ganzoo.load(tmp_path / "ft").state_dict()
    assert any(not torch.equal(tuned[k], v) for k, v in shipped.items() if v.is_floating_point())
    started = {"from": str(src), "sha256": file_sha256(src / "model.safetensors")}   # what its card will name
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["training"]["init_from"] == started
    # --resume continues from the fine-tune's own checkpoint and does not load init_from again
    resumed = Trainer(recipe("dcgan", digits_dir, tmp_path / "ft", "max_steps=8", "init_from=gone"), resume=True)
    saved = ckpt.load_checkpoint(tmp_path / "ft" / ckpt.CHECKPOINT_NAME)
    assert resumed.step == 4
    assert all(torch.equal(resumed.acc.unwrap_model(resumed.G).state_dict()[k], v) for k, v in saved["G"].items())
    resumed.run()                                        # the resumed run still says where it started
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["training"]["init_from"] == started
    assert export_checkpoint(tmp_path / "ft").joinpath("config.json").read_text().count(started["sha256"]) == 1


def test_init_from_into_a_wider_recipe_starts_from_the_same_images(digits_dir, tmp_path):
    src = Trainer(recipe("dcgan", digits_dir, tmp_path / "src", "max_steps=4", "checkpoint_every=4")).run()
    tr = Trainer(recipe("dcgan", digits_dir, tmp_path / "wide", "max_steps=4", "checkpoint_every=4", f"init_from={src}",
                        "model.ngf=16", "model.ndf=16"))
    wide, shipped = tr.ema.module.eval(), ganzoo.load(src)
    assert wide.net[0].weight.shape[1] == 2 * shipped.net[0].weight.shape[1]
    assert torch.allclose(wide.sample(16, seed=3), shipped.sample(16, seed=3), atol=1e-5)
    tr.run()
    assert ganzoo.load(tmp_path / "wide").config.ngf == 16


@pytest.mark.parametrize("init_from,match", [
    ("dcgan-mnsit", "init_from='dcgan-mnsit': unknown model 'dcgan-mnsit'.*dcgan-mnist"),
    ("vanilla-mnist", "init_from='vanilla-mnist' is a vanilla generator; this recipe trains dcgan"),
    ("dcgan-mnist", "(?s)init_from='dcgan-mnist' does not fit the recipe's generator; give the model options.*'ngf': 64"),
    ("dcgan-mnist", "(?s)or whole multiples of its widths.*128 -> 16 units is not a whole multiple"),
])
def test_bad_init_from(init_from, match, digits_dir, tmp_path):
    with pytest.raises(TrainingError, match=match):
        Trainer(recipe("dcgan", digits_dir, tmp_path / "x", f"init_from={init_from}"))


@pytest.mark.parametrize("overrides,match", [
    (["class_entropy=0.5"], "class_entropy=0.5 needs an unconditional model whose D has a class head"),
    (["model.aux_classes=10", "aux_weight=0", "class_entropy=0.5"], "needs an unconditional model whose D"),
    (["model.aux_classes=5"], "dcgan with aux_classes=5 needs labels in 0..4; .* has 10"),
])
def test_bad_label_supervision_settings(overrides, match, digits_dir, tmp_path):
    with pytest.raises(TrainingError, match=match):
        Trainer(recipe("dcgan", digits_dir, tmp_path / "x", *overrides))


def test_diverging_run_stops_and_keeps_last_good_checkpoint(digits_dir, tmp_path, monkeypatch):
    d_loss, g_loss = LOSSES["nonsaturating"]
    calls = {"n": 0}

    def explodes_after_12(real, fake, smooth=0.0):
        calls["n"] += 1
        return d_loss(real, fake, smooth=smooth) * (float("nan") if calls["n"] > 12 else 1)

    monkeypatch.setitem(LOSSES, "nonsaturating", (explodes_after_12, g_loss))
    with pytest.raises(TrainingError, match="D loss is nan at step 15: training diverged.*last good checkpoint is kept"):
        Trainer(recipe("dcgan", digits_dir, tmp_path / "x")).run()
    assert ckpt.load_checkpoint(tmp_path / "x" / ckpt.CHECKPOINT_NAME)["step"] == 10
    assert not (tmp_path / "x" / "model.safetensors").exists()


def test_command_line(digits_dir, tmp_path, capsys):
    code = train.main([str(REPO / "training/configs/vanilla-mnist.yaml"), f"data={digits_dir}", "max_steps=3",
                       "batch_size=32", "model.hidden_dim=8", "--out", str(tmp_path / "v")])
    assert code == 0 and ganzoo.load(tmp_path / "v").num_classes is None
    # overrides may also follow --out (argparse's plain parse_args refused that order)
    assert train.main([str(REPO / "training/configs/vanilla-mnist.yaml"), "--out", str(tmp_path / "w"),
                       f"data={digits_dir}", "max_steps=2", "batch_size=32", "model.hidden_dim=4"]) == 0
    assert ganzoo.load(tmp_path / "w").config.hidden_dim == 4
    assert train.main([str(REPO / "training/configs/vanilla-mnist.yaml"), "data=/nope", "--out", str(tmp_path)]) == 2
    assert train.main([str(tmp_path / "missing.yaml")]) == 2


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_matches(digits_dir, tmp_path):
    """Kill a real training process with SIGKILL at random times until it completes."""
    args = [sys.executable, "-m", "training.train", str(REPO / "training/configs/dcgan-mnist.yaml"),
            f"data={digits_dir}", "batch_size=32", "max_steps=300", "checkpoint_every=7", "log_every=5",
            "sample_epochs=[]", "cpu=true", *TINY_MODEL["dcgan"]]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    full = subprocess.run([*args, f"out={tmp_path / 'full'}"], env=env, capture_output=True, timeout=600)
    assert full.returncode == 0, full.stderr[-2000:]
    duration = time.perf_counter() - t0
    rng = random.Random(0)
    kills = 0
    for attempt in range(30):
        proc = subprocess.Popen([*args, f"out={tmp_path / 'killed'}", "--resume"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.3, 0.8) * duration)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
        assert proc.returncode == 0
        break
    else:
        pytest.fail("training never completed")
    assert kills >= 1
    assert weights(tmp_path / "killed") == weights(tmp_path / "full")


@pytest.mark.slow
def test_two_processes_train_one_model(digits_dir, tmp_path):
    """The multi-GPU path (accelerate + DDP) exercised on CPU with gloo: two processes, one model."""
    out = tmp_path / "ddp"
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "-m", "training.train", str(REPO / "training/configs/cgan-mnist.yaml"),
                          f"data={digits_dir}", f"out={out}", "batch_size=16", "max_steps=8", "checkpoint_every=4",
                          "log_every=4", "cpu=true", *TINY_MODEL["cgan"]],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["num_processes"] == 2 and summary["steps"] == 8
    assert ganzoo.load(out).sample(2, labels=[0, 1], seed=0).shape == (2, 1, 28, 28)


def test_resumed_optimizer_state_has_the_parameters_dtype_device_and_memory_format(digits_dir, tmp_path):
    """A checkpoint stores tensors contiguous; fused Adam on a GPU refuses moments whose layout
    differs from their channels_last parameter's, so the resumed state must take the parameter's."""
    extra = ("channels_last=true", "max_steps=4", "checkpoint_every=4")
    Trainer(recipe("dcgan", digits_dir, tmp_path / "run", *extra)).run()
    resumed = Trainer(recipe("dcgan", digits_dir, tmp_path / "run", "channels_last=true", "max_steps=6"), resume=True)
    checked = 0
    for opt in (resumed.opt_g, resumed.opt_d):
        for p in (p for group in opt.param_groups for p in group["params"]):
            for key in ("exp_avg", "exp_avg_sq"):
                moment = opt.state[p][key]
                assert (moment.dtype, moment.device, moment.stride()) == (p.dtype, p.device, p.stride()), key
                checked += p.ndim == 4 and p.is_contiguous(memory_format=torch.channels_last) \
                    and not p.is_contiguous()
    assert checked > 0                                   # there were channels_last weights to check
    assert resumed.run() and resumed.step == 6


def test_one_process_trains_runs_of_different_precision_one_after_another(digits_dir, tmp_path):
    """accelerate keeps one process-wide state; a notebook that builds a second Trainer with
    another device or precision got 'AcceleratorState has already been initialized'."""
    first = Trainer(recipe("vanilla", digits_dir, tmp_path / "a", "mixed_precision=no"))
    second = Trainer(recipe("vanilla", digits_dir, tmp_path / "b", "mixed_precision=bf16"))   # raised ValueError
    third = Trainer(recipe("vanilla", digits_dir, tmp_path / "c", "mixed_precision=no", "max_steps=2"))
    # accelerate gives bf16 on a CPU only where the CPU has it (here yes, an H200 host's no)
    assert (first.acc.mixed_precision, third.acc.mixed_precision) == ("no", "no")
    assert second.acc.mixed_precision in ("bf16", "no")
    assert third.run() and third.step == 2


@pytest.mark.parametrize("family", list(TINY))
def test_the_step_replayed_from_static_inputs_trains_exactly_as_the_eager_step(family, digits_dir, tmp_path):
    """A CUDA graph replays the step on static input tensors, refilled before each replay
    (CUDAGraphStep._fill); on the CPU the same refill then the same step must give bit-identical
    losses and weights, so no input of the step is left out of the refill."""
    from training.graph import CUDAGraphStep
    extra = ("r1_gamma=1.0", "instance_noise=0.2", "d_steps=2", "max_steps=6", "top_k=0.75")
    if family == "vanilla":
        extra += ("loss=wgan-gp",)
    eager = Trainer(recipe(family, digits_dir, tmp_path / "eager", *extra))
    static = Trainer(recipe(family, digits_dir, tmp_path / "static", *extra))
    refill = object.__new__(CUDAGraphStep)                  # its refill, without the CUDA stream
    refill.static_in = None
    losses = []
    for _ in range(6):
        eager.train_step()
        inputs = static.gan_step.draw(static.data, static.step, static.rng, static.noise_std())
        refill._fill(inputs)
        static.stats = static.gan_step(refill.static_in)
        static.state.step += 1
        losses.append((eager.stats.tolist(), static.stats.tolist()))
    assert all(a == b for a, b in losses) and len({str(a) for a, _ in losses}) == 6   # equal, and changing
    for a, b in ((eager.G, static.G), (eager.D, static.D), (eager.ema, static.ema)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_training_again_into_a_run_folder_is_refused_unless_resumed_or_overwritten(digits_dir, tmp_path):
    out = Trainer(recipe("vanilla", digits_dir, tmp_path / "run", "max_steps=3")).run()
    before = {f: (out / f).read_bytes() for f in ("model.safetensors", "log.jsonl", ckpt.CHECKPOINT_NAME)}
    with pytest.raises(TrainingError, match="already holds a run .*checkpoint.safetensors.*--resume.*--overwrite"):
        Trainer(recipe("vanilla", digits_dir, tmp_path / "run", "max_steps=3")).run()
    assert {f: (out / f).read_bytes() for f in before} == before          # nothing touched
    again = Trainer(recipe("vanilla", digits_dir, tmp_path / "run", "max_steps=3", "seed=1"), overwrite=True).run()
    assert weights(again) != before["model.safetensors"]
    assert [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()] == [3]


def test_resume_drops_a_log_line_cut_short_by_a_kill(digits_dir, tmp_path):
    out = Trainer(recipe("vanilla", digits_dir, tmp_path / "run", "max_steps=10", "checkpoint_every=10")).run()
    with open(out / "log.jsonl", "a") as f:
        f.write('{"step": 11, "loss_d": 0.6')                  # killed mid-line
    Trainer(recipe("vanilla", digits_dir, tmp_path / "run", "max_steps=15"), resume=True).run()
    assert [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()] == [5, 10, 15]


@pytest.mark.parametrize("damage", ["truncate", "binary recipe"])
def test_command_line_errors_are_one_line_with_exit_code_2(damage, digits_dir, tmp_path, capsys, caplog):
    args = [str(REPO / "training/configs/vanilla-mnist.yaml"), f"data={digits_dir}", "max_steps=2", "batch_size=32",
            "model.hidden_dim=4", "--out", str(tmp_path / "v")]
    if damage == "truncate":
        assert train.main(args) == 0
        path = tmp_path / "v" / ckpt.CHECKPOINT_NAME
        path.write_bytes(path.read_bytes()[:1000])
        args.append("--resume")
        expected = "is not a readable ganzoo checkpoint.*delete it to start again"
    else:
        (tmp_path / "r.yaml").write_bytes(bytes(range(256)))
        args[0] = str(tmp_path / "r.yaml")
        expected = "is not a YAML text"
    caplog.clear()
    with caplog.at_level("ERROR", logger="ganzoo.train"):
        assert train.main(args) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0] and __import__("re").search(expected, errors[0])
    assert "Traceback" not in capsys.readouterr().err
