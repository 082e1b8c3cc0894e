"""The registry is the one list of models; each entry agrees with its bundled files."""
import json

import pytest

import ganzoo
from ganzoo.hub import file_sha256


def test_list_models_sorted_and_filtered():
    names = ganzoo.list_models()
    assert names == sorted(names) and {"vanilla-mnist", "dcgan-mnist", "cgan-mnist"} <= set(names)
    assert ganzoo.list_models("dcgan-*") == ["dcgan-mnist"]
    assert ganzoo.list_models("*mnist*") == names
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
