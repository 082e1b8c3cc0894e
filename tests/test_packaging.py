"""What the package declares: the Python it needs (checked by vermin), its distribution name,
and the floors CI installs in its second venv."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
VERMIN = str(Path(sys.executable).with_name("vermin"))      # the test extra's console script


def test_the_code_needs_no_python_newer_than_it_declares():
    declared = re.fullmatch(r">=(3\.\d+)", PROJECT["requires-python"]).group(1)
    out = subprocess.run([VERMIN, "--no-tips", "--violations", f"-t={declared}-",
                          "ganzoo", "training", "app.py", "space"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    needed = re.search(r"Minimum required versions: (3\.\d+)", subprocess.run(
        [VERMIN, "--no-tips", "ganzoo", "training"], capture_output=True, text=True,
        cwd=REPO).stdout).group(1)
    assert tuple(map(int, needed.split("."))) <= tuple(map(int, declared.split(".")))


def test_every_install_line_names_the_distribution_not_the_unrelated_ganzoo_on_pypi():
    assert PROJECT["name"] == "ganzoo-models"
    texts = [REPO / "README.md", *REPO.glob("model_cards/*/README.md"), *REPO.glob("docs/*.md"),
             *REPO.glob("space/*"), REPO / "ganzoo" / "models" / "base.py", REPO / "ganzoo" / "cli.py"]
    wrong = [str(p.relative_to(REPO)) for p in texts if p.is_file()
             and re.search(r"pip install ['\"]?ganzoo(?![-\w])", p.read_text(errors="replace"))]
    assert wrong == []


def test_ci_installs_the_declared_floors():
    pins = subprocess.run([sys.executable, str(REPO / ".ci" / "min_requirements.py")], capture_output=True,
                          text=True, check=True).stdout.split()
    extras = PROJECT["optional-dependencies"]
    declared = PROJECT["dependencies"] + extras["demo"] + extras["train"]
    assert len(pins) == len(declared)
    for pin, requirement in zip(pins, declared):
        name, version = pin.split("==")
        assert requirement.startswith(f"{name}>={version}")
    assert "huggingface_hub==1.0" in pins and "gradio==6.0" in pins
    assert "min_requirements.py" in (REPO / ".ci" / "run").read_text()
