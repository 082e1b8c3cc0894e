"""The registry is the one list of models; each entry agrees with its bundled files."""
import json

import pytest

import ganzoo
from ganzoo.hub import file_sha256


def test_list_models_sorted_and_filtered():
    names = ganzoo.list_models()
    assert names == sorted(names) and {"vanilla-mnist", "dcgan-mnist", "cgan-mnist"} <= set(names)
    assert ganzoo.list_models("dcgan-*") == ["dcgan-fashion", "dcgan-mnist"]
    assert ganzoo.list_models("*-mnist") == ["cgan-mnist", "dcgan-mnist", "vanilla-mnist"]
    assert ganzoo.list_models("nothing*") == []


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_entry_matches_its_card_folder(name):
    e = ganzoo.get_entry(name)
    assert file_sha256(e.weights_file) == e.sha256
    meta = json.loads((e.folder / "config.json").read_text())
    assert meta["family"] == e.family and meta["name"] == name
    assert ganzoo.make_config(e.family, meta["config"]) == ganzoo.make_config(e.family, e.config)
    assert e.hub_repo.endswith("/" + name) and e.license == "mit"
    assert (e.folder / "README.md").read_text().startswith("---\n")
    m = e.metrics
    assert m["n"] >= 10_000 and m["fid"] > m["fid_floor"] > 0


def test_unknown_entry():
    with pytest.raises(ganzoo.UnknownModelError, match="unknown model 'cgan-mnits'; did you mean 'cgan-mnist'"):
        ganzoo.get_entry("cgan-mnits")


def test_readme_model_table_is_generated_from_the_registry():
    import subprocess
    import sys
    from tests.conftest import REPO
    out = subprocess.run([sys.executable, str(REPO / "training/update_readme.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    readme = (REPO / "README.md").read_text()
    for name in ganzoo.list_models():
        assert f"[{name}](model_cards/{name}/README.md)" in readme


@pytest.mark.slow
def test_wheel_carries_every_zoo_model_and_evaluator(tmp_path):
    """`pip install .` users get the weights: the wheel holds model_cards/ as ganzoo/model_cards."""
    import hashlib
    import subprocess
    import sys
    import zipfile
    from tests.conftest import REPO
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    (wheel,) = tmp_path.glob("ganzoo_models-*.whl")          # the distribution ganzoo-models
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for name in ganzoo.list_models():
            data = z.read(f"ganzoo/model_cards/{name}/model.safetensors")
            assert hashlib.sha256(data).hexdigest() == ganzoo.get_entry(name).sha256
            assert f"ganzoo/model_cards/{name}/config.json" in names
        assert {"ganzoo/evaluators/mnist-classifier.safetensors", "ganzoo/evaluators/fashion-classifier.safetensors"} <= names
