"""Print the declared minimum of every dependency (pyproject.toml's floors, with the demo and
train extras) as pins, so CI can install exactly those and run the tests on them:

    pip install $(python .ci/min_requirements.py)
"""
import re
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
extras = project["optional-dependencies"]
for requirement in project["dependencies"] + extras["demo"] + extras["train"]:
    name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)(,.*)?", requirement).group(1, 2)
    print(f"{name}=={floor}")
