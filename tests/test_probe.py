"""training/probe_fid.py: FID under truncation and class-mix resampling."""
import re

import pytest

from training.probe_fid import main


def test_probe_prints_fid_per_psi_and_the_resampled_fid(digits_dir, capsys):
    # 256 digits: 51 held out, 25 against 25 samples; the bundled dcgan-mnist as the model
    assert main(["dcgan-mnist", "--data", str(digits_dir), "--evaluator", "mnist", "--psi", "1.0", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["psi 1.0", "psi 0.5"]
    fids = [float(x) for x in re.findall(r"FID (\d+\.\d+)", "\n".join(lines))]
    assert len(fids) == 3 and all(f > 0 for f in fids)
    assert "resampled" in lines[0] and "resampled" not in lines[1]


def test_probe_refuses_a_conditional_model(digits_dir, capsys):
    with pytest.raises(SystemExit):
        main(["cgan-mnist", "--data", str(digits_dir), "--evaluator", "mnist"])
    assert "cgan-mnist is conditional" in capsys.readouterr().err
