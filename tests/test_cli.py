"""The ganzoo command, in-process and as an installed script."""
import json
import shutil
import subprocess

import pytest
from PIL import Image

from ganzoo.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "dcgan-mnist" in out and "cgan-mnist" in out and "FID" in out
    assert main(["list", "cgan*"]) == 0 and "dcgan" not in capsys.readouterr().out


def test_info(capsys):
    assert main(["info", "cgan-mnist"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["family"] == "cgan" and info["weights"]["hub"] == "hf-hub:ganzoo/cgan-mnist@main"
    assert info["metrics"]["class_accuracy"] >= 0.99


def test_sample_with_label(tmp_path, capsys):
    out = tmp_path / "sevens.png"
    assert main(["sample", "cgan-mnist", "-n", "100", "--label", "7", "--seed", "1", "-o", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size == (2 * (10 * 30 + 2), 2 * (10 * 30 + 2))   # 10 x 10 grid of 28 px + 2 px padding, x2
        assert im.getextrema()[1] > 200


def test_labels_by_class_name(tmp_path):
    out = tmp_path / "shoes.png"
    assert main(["sample", "cgan-fashion", "-n", "8", "--label", "Sneaker,Ankle boot", "-o", str(out)]) == 0
    assert out.exists()


def test_interpolate_gif_and_strip(tmp_path):
    gif = tmp_path / "walk.gif"
    assert main(["interpolate", "dcgan-mnist", "--start", "0", "--end", "1", "--steps", "24", "--method", "slerp",
                 "-o", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 24 and im.size == (112, 112)
    assert main(["interpolate", "cgan-mnist", "--label", "3", "--steps", "5", "-o", str(tmp_path / "s.png")]) == 0


@pytest.mark.parametrize("argv,message", [
    (["sample", "dcgan-mnst"], "unknown model 'dcgan-mnst'; did you mean 'dcgan-mnist'?"),
    (["sample", "cgan-mnist", "--label", "12"], "label 12 is out of range for cgan-mnist; valid: 0..9 or a name"),
    (["sample", "cgan-mnist", "--label", "seven"], "unknown label 'seven' for cgan-mnist; valid: 0..9"),
    (["sample", "dcgan-mnist", "--device", "bogus"], "unknown device 'bogus'; this machine has: cpu"),
    (["sample", "dcgan-mnist", "-o", "."], "output '.' must end with one of .png"),
    (["sample", "dcgan-mnist", "-o", "folder.png"], "output 'folder.png' is a folder"),
    (["sample", "dcgan-mnist", "-o", "afile/x.png"], "output 'afile/x.png' lies under 'afile', which is a file"),
    (["sample", "dcgan-mnist", "--nrow", "1000000000"], "--nrow (images per row) must be in 1..64, got 1000000000"),
    (["sample", "dcgan-mnist", "--scale", "100000"], "--scale must be in 1..16, got 100000"),
    (["eval", "dcgan-mnist", "--data", ".", "-o", "missing/x.json"], "output folder 'missing' does not exist"),
    (["sample", "dcgan-mnist", "--label", "1"], "unconditional and takes no labels"),
    (["sample", "dcgan-mnist", "-n", "0"], "n must be an int in 1..100000, got 0"),
    (["sample", "dcgan-mnist", "-o", "/no/such/dir/x.png"], "output folder '/no/such/dir' does not exist"),
    (["sample", "dcgan-mnist", "-o", "x.txt"], "output 'x.txt' must end with one of .png"),
    (["interpolate", "dcgan-mnist", "--steps", "1"], "steps must be an int in 2..1024"),
    (["list", "zzz*"], "no model matches 'zzz*'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "afile").write_text("")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(shutil.which("ganzoo") is None, reason="ganzoo is not installed as a command")
def test_installed_script(tmp_path):
    ok = subprocess.run(["ganzoo", "sample", "dcgan-mnist", "-n", "4", "-o", str(tmp_path / "g.png")],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and (tmp_path / "g.png").exists(), ok.stderr
    bad = subprocess.run(["ganzoo", "info", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("ganzoo info: error: unknown model 'nope'")


def test_demo_port_out_of_range_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--port", "99999"])
    assert e.value.code == 2 and "port must be in 1..65535, got 99999" in capsys.readouterr().err


def test_eval_on_a_malformed_idx_file_is_one_line(tmp_path, capsys):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0]))      # header cut short
    assert main(["eval", "dcgan-mnist", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "IDX" in err and "Traceback" not in err

