"""Generated model cards say what was measured and how to reproduce it."""
import dataclasses
import json
import re
import shlex
import shutil

import pytest

import ganzoo
from tests.conftest import REPO
from training.make_card import CardError, build, devices_line, fine_tune_origin, fid_sets_text, overrides_between, per_class_line, quality_notes, seed_spread_line, training_command
from training.train import load_config


def config_of_last_command(text: str):
    """The settings of a card's last training command (the --resume one, when the run was extended)."""
    command = re.findall(r"`python -m training.train ([^`]+)`", text)[-1]
    recipe, *overrides = [a for a in shlex.split(command) if a != "--resume"]
    return load_config(REPO / recipe, overrides)


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_card_command_reproduces_the_shipped_run(name):
    folder = ganzoo.get_entry(name).folder
    cfg = config_of_last_command((folder / "README.md").read_text())
    trained = json.loads((folder / "config.json").read_text())["training"]
    if cfg.max_steps is None:
        assert cfg.epochs == trained["epochs"]
    else:                                            # a run stopped by max_steps before its last epoch
        assert cfg.max_steps == trained["steps"] and cfg.epochs > trained["epochs"]
    assert cfg.seed == trained["seed"]
    assert ganzoo.make_config(ganzoo.get_entry(name).family, cfg.model) == ganzoo.load(name).config


def test_quality_notes_follow_the_figures():
    within = quality_notes({"fid": 3.0, "fid_floor": 2.0, "recall": 0.8, "recall_floor": 0.85})
    above = quality_notes({"fid": 9.0, "fid_floor": 1.0, "recall": 0.5, "recall_floor": 0.85})
    assert "1.50x the real-vs-real floor" in within and "within the zoo's bar" in within and "Recall" not in within
    assert "9.00x" in above and "above the zoo's bar" in above and "Recall is 0.5 against 0.85" in above
    by_seed = {"fid": 1.61, "fid_floor": 0.81}
    lucky = quality_notes({**by_seed, "fid_by_seed": {"0": 1.61, "1": 1.71, "2": 1.68}})
    steady = quality_notes({**by_seed, "fid_by_seed": {"0": 1.61, "1": 1.60, "2": 1.62}})
    assert "within the zoo's bar of 2x for this seed, but not for sampling seed(s) 1, 2, so not reliably" in lucky
    assert "within the zoo's bar of 2x on every sampling seed measured." in steady


def test_a_resumed_run_shows_both_commands_and_they_parse_back():
    recipe = "training/configs/cgan-fashion.yaml"
    first = dataclasses.asdict(load_config(REPO / recipe, ["sample_epochs=[1,5,-1]", "mixed_precision=bf16"]))
    final = {**first, "epochs": 64}
    text = training_command("cgan-fashion", final, [(first, 19_656)])
    commands = re.findall(r"`python -m training.train ([^`]+)`", text)
    assert len(commands) == 2 and commands[1].endswith("--resume epochs=64")
    assert "` (to step 19,656), then `" in text
    cfg = config_of_last_command(text)
    assert cfg.epochs == 64 and list(cfg.sample_epochs) == [1, 5, -1] and cfg.mixed_precision == "bf16"


def test_a_run_resumed_twice_shows_every_command_in_order():
    first = dataclasses.asdict(load_config(REPO / "training/configs/dcgan-fashion.yaml", ["channels_last=true"]))
    second = {**first, "epochs": 64, "out": "runs/elsewhere"}
    final = {**second, "epochs": 150, "checkpoint_every": 500}
    text = training_command("dcgan-fashion", final, [(first, 19_656), (second, 25_000)])   # second stopped early
    commands = re.findall(r"`python -m training.train ([^`]+)`", text)
    assert [c.split(".yaml")[1] for c in commands] == [
        " channels_last=true", " channels_last=true --resume epochs=64",
        " channels_last=true --resume epochs=150 checkpoint_every=500"]
    assert re.findall(r"\(to step ([\d,]+)\)", text) == ["19,656", "25,000"]
    cfg = config_of_last_command(text)
    assert (cfg.epochs, cfg.checkpoint_every, cfg.channels_last) == (150, 500, True)


def test_the_device_line_names_each_machine_a_resumed_run_trained_on():
    one, two = "cpu (x86_64, 1 threads)", "cpu (x86_64, 2 threads)"
    assert devices_line([], {"device": two, "steps": 100}) == two
    assert devices_line([{"device": two, "steps": 50}], {"device": two, "steps": 100}) == two
    # the stage copies without a device (stopped by hand) count as the next stage's
    stages = [{"device": one, "steps": 19_656}, {"device": one, "steps": 29_952}, {"steps": 44_500}]
    assert devices_line(stages, {"device": two, "steps": 81_900}) == f"{one} to step 29,952, then {two}"


def test_the_per_class_fids_appear_beside_their_floors_only_when_measured():
    line = per_class_line({"fid_per_class": [10.8, 2.5], "fid_per_class_floor": [3.8, 2.1], "fid_per_class_samples": 400})
    assert "0..9; 400 samples" in line and "0: 10.8 (3.8), 1: 2.5 (2.1)." in line
    assert per_class_line({"fid": 1.0}) == ""


def test_the_fid_of_other_sampling_seeds_is_given_with_its_spread_only_when_measured():
    line = seed_spread_line({"fid": 2.97, "fid_by_seed": {"0": 2.97, "1": 2.83, "2": 3.03}})
    assert "seed 0: 2.97, seed 1: 2.83, seed 2: 3.03; mean 2.94." in line
    assert "Differences of 0.20 between" in line
    assert seed_spread_line({"fid": 2.97}) == ""


def test_the_card_says_over_how_many_sets_of_samples_fid_was_averaged():
    assert fid_sets_text({"fid_sets": 10, "fid_set_spread": 1.4567}) == "10 disjoint sets (which differ by up to 1.46)"
    assert fid_sets_text({"fid_sets": 1, "fid_set_spread": 0.0}) == "one set"
    assert fid_sets_text({}) == "one set"     # results from before FID averaged over sets


def test_a_setting_newer_than_an_earlier_stage_is_no_override_at_its_default():
    earlier = {"epochs": 150, "ema_decay": 0.999, "model": {"ngf": 64}}      # written before top_k existed
    later = {"epochs": 200, "ema_decay": 0.999, "top_k": 1.0, "class_entropy": 0.0, "model": {"ngf": 64}}
    assert overrides_between(earlier, later) == " epochs=200"
    assert overrides_between(earlier, {**later, "top_k": 0.75}) == " epochs=200 top_k=0.75"


def test_a_fine_tuned_card_shows_how_its_starting_generator_was_trained_after_checking_its_weights(tmp_path):
    entry = ganzoo.get_entry("cgan-fashion")
    card = shutil.copytree(entry.folder, tmp_path / "card")
    (card / "README.md").write_text(             # itself fine-tuned: every paragraph before the table counts
        "# x\n\n## Training\n\n`python -m training.train a` (to step 9), then `python -m training.train b` (10 steps).\n\n"
        "Then, from those weights: `python -m training.train c` (5 steps).\n\nBatch norm re-measured.\n\n"
        "| setting | value |\n| --- | --- |\n| seed | 0 |\n\n## Limitations\n\n`python -m training.train z`\n")
    init = {"from": "cgan-fashion", "sha256": entry.sha256}
    text = fine_tune_origin(init, card)
    assert text.startswith(f"Fine-tuned from the generator of `cgan-fashion` (weights sha256 `{entry.sha256[:16]}...`)")
    assert re.findall(r"`python -m training.train ([^`]+)`", text) == ["a", "b", "c"]
    assert "Batch norm re-measured." in text and "setting" not in text
    assert text.endswith("with a new, untrained discriminator: ")
    other = ganzoo.get_entry("dcgan-fashion")
    with pytest.raises(CardError, match=f"holds weights with sha256 {other.sha256}, but the run started from "
                                        f"'cgan-fashion' with sha256 {entry.sha256}"):
        fine_tune_origin(init, other.folder)
    (card / "README.md").unlink()
    with pytest.raises(CardError, match="holds no README.md; give the card folder of 'cgan-fashion'"):
        fine_tune_origin(init, card)


def test_a_card_needs_the_starting_card_exactly_when_the_run_started_from_init_from(tmp_path):
    run = shutil.copytree(ganzoo.get_entry("dcgan-mnist").folder, tmp_path / "run")
    with pytest.raises(CardError, match="--init-card .* is for a run that started from init_from, and .* did not"):
        build(run, tmp_path / "eval.json", tmp_path / "cards", init_card=tmp_path)
    meta = json.loads((run / "config.json").read_text())
    meta["training"]["init_from"] = {"from": "dcgan-mnist", "sha256": "0" * 64}
    (run / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CardError, match="started from init_from='dcgan-mnist': pass --init-card"):
        build(run, tmp_path / "eval.json", tmp_path / "cards")
