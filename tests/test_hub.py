"""ganzoo.load from zoo names, folders and a real (local) Hub; every error path."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo import registry
from tests.conftest import TINY, run_python, tiny_generator

GOLDEN = Path(__file__).with_name("golden.json")


def digest(images: torch.Tensor) -> str:
    """sha256 of images quantised to 8 bits, as saved in a PNG."""
    return hashlib.sha256(images.mul(255).round().to(torch.uint8).numpy().tobytes()).hexdigest()


def golden_samples(g) -> torch.Tensor:
    labels = torch.arange(16) % g.num_classes if g.num_classes else None
    return g.sample(16, labels=labels, seed=0)


# ---- the zoo ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ganzoo.list_models())
def test_zoo_model_loads_samples_and_is_deterministic(name):
    entry = ganzoo.get_entry(name)
    g = ganzoo.load(name)
    assert not g.training and g.name == name
    assert g.image_shape == entry.image_shape and g.num_classes == entry.num_classes
    assert g.config == ganzoo.make_config(entry.family, entry.config)
    x = g.sample(8, seed=1)
    assert x.shape == (8, *entry.image_shape) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.1
    assert torch.equal(x, g.sample(8, seed=1))


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_golden_samples(name):
    """Fixed-seed samples of each zoo model, as checksums (update: python tests/test_hub.py)."""
    golden = json.loads(GOLDEN.read_text())[name]
    x = golden_samples(ganzoo.load(name))
    assert torch.allclose(x[0, 0, 14, 10:16], torch.tensor(golden["slice"]), atol=1e-4)
    assert digest(x) == golden["sha256"]


def test_same_seed_same_images_in_another_process():
    code = """
        import hashlib, ganzoo
        x = ganzoo.load("cgan-mnist").sample(8, seed=42)
        print(hashlib.sha256(x.mul(255).round().byte().numpy().tobytes()).hexdigest())
    """
    out = run_python(code, {"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == digest(ganzoo.load("cgan-mnist").sample(8, seed=42))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("name", ganzoo.list_models())
def test_same_seed_same_images_on_gpu(name):
    """Latents are drawn on the CPU and TF32 is off while sampling, so a seed gives the same images
    on a GPU up to float rounding: as 8-bit images (what a PNG holds) at most one level apart."""
    cpu = golden_samples(ganzoo.load(name))
    gpu_model = ganzoo.load(name, device="cuda")
    assert gpu_model.device.type == "cuda"
    gpu = golden_samples(gpu_model)
    assert gpu.device.type == "cpu"
    levels = (cpu.mul(255).round() - gpu.mul(255).round()).abs()
    assert levels.max() <= 1 and (cpu - gpu).abs().max() < 1 / 255, (cpu - gpu).abs().max()


def test_zoo_loads_with_offline_mode_and_empty_cache(tmp_path):
    out = run_python("""
        import ganzoo
        for n in ganzoo.list_models():
            ganzoo.load(n).sample(2, seed=0)
        print("ok")
    """, {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty")})
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert not (tmp_path / "empty").exists()          # nothing was even looked up


def test_dtype_and_device_arguments():
    g = ganzoo.load("dcgan-mnist", dtype=torch.float64)
    assert g.dtype == torch.float64
    assert g.sample(2, seed=0).dtype == torch.float32


# ---- folders and round trips -----------------------------------------------------------------
@pytest.mark.parametrize("family", list(TINY))
def test_save_load_round_trip(family, tmp_path):
    g = tiny_generator(family, seed=3)
    ganzoo.save_pretrained(g, tmp_path / "m", dataset="synthetic")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = ganzoo.load(tmp_path / "m")
    assert type(loaded) is type(g) and loaded.config == g.config
    labels = [1, 2] if g.num_classes else None
    assert torch.equal(loaded.sample(2, labels=labels, seed=0), g.sample(2, labels=labels, seed=0))
    assert json.loads((tmp_path / "m" / "config.json").read_text())["dataset"] == "synthetic"


def test_no_pickle_anywhere():
    for path in Path(ganzoo.__file__).parent.rglob("*.py"):
        text = path.read_text()
        assert "torch.load(" not in text and "import pickle" not in text, path


@pytest.fixture
def saved(tmp_path):
    folder = tmp_path / "m"
    ganzoo.save_pretrained(tiny_generator("dcgan"), folder)
    return folder


def test_folder_without_files(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ganzoo.MissingFilesError, match="lacks model.safetensors.*found: config.json"):
        ganzoo.load(tmp_path)
    with pytest.raises(ganzoo.MissingFilesError, match="folder './no-such-folder' does not exist"):
        ganzoo.load("./no-such-folder")


def test_truncated_weights(saved):
    data = (saved / "model.safetensors").read_bytes()
    (saved / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ganzoo.CorruptWeightsError, match="not a readable safetensors file"):
        ganzoo.load(saved)


def test_not_safetensors(saved):
    (saved / "model.safetensors").write_bytes(b"\x80\x04pickle-ish bytes" * 10)
    with pytest.raises(ganzoo.CorruptWeightsError):
        ganzoo.load(saved)


@pytest.mark.parametrize("option,value,match", [
    ("ngf", 16, r"shape mismatches net\.0\.weight: file \(8, 16, 7, 7\) vs model \(8, 32, 7, 7\)"),
    ("extra_layers", 1, r"missing keys \['net\.7\.bias', .*\]; unexpected keys \['net\.6\.bias'\]; "
                        r"shape mismatches net\.3\.weight"),
])
def test_weights_that_do_not_fit_list_the_keys(saved, option, value, match):
    meta = json.loads((saved / "config.json").read_text())
    meta["config"][option] = value
    (saved / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ganzoo.WeightsMismatchError, match=match):
        ganzoo.load(saved)


@pytest.mark.parametrize("text,match", [
    ("not json", "is not a ganzoo config"),
    ('{"family": "gan", "config": {}}', "unknown family 'gan'; valid: vanilla, dcgan, cgan"),
    ('{"family": "dcgan", "config": {"ngf": -1}}', "ngf must be an int in 1..1024, got -1"),
    ('{"family": "dcgan", "config": {"ngf": 150000}}', "ngf must be an int in 1..1024, got 150000"),
    ('{"family": "dcgan", "config": {"extra_layers": 1000000}}', "extra_layers must be an int in 0..8"),
    ('{"family": ["dcgan"], "config": {}}', "unknown family \\['dcgan'\\]"),
    ('{"family": "dcgan", "config": 5}', "dcgan config must be a mapping of options, got int"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"family": "cgan", "config": {"class_names": 5}}', "class_names must be a list of names"),
])
def test_bad_config_json(saved, text, match):
    (saved / "config.json").write_text(text)
    with pytest.raises(ganzoo.InvalidConfigError, match=match):
        ganzoo.load(saved)


def test_unknown_name_suggests_nearest():
    with pytest.raises(ganzoo.UnknownModelError, match="unknown model 'dcgan-mnst'; did you mean 'dcgan-mnist'\\?"):
        ganzoo.load("dcgan-mnst")


def test_bundled_checksum_mismatch(tmp_path, monkeypatch):
    copy = tmp_path / "cards"
    shutil.copytree(registry.BUNDLED_DIR, copy)
    weights = copy / "dcgan-mnist" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF                                    # one flipped byte in the last weight
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(registry, "BUNDLED_DIR", copy)
    expected = ganzoo.get_entry("dcgan-mnist").sha256
    with pytest.raises(ganzoo.ChecksumMismatchError, match=f"have sha256 [0-9a-f]{{64}}, expected {expected}"):
        ganzoo.load("dcgan-mnist")
    weights.unlink()
    with pytest.raises(ganzoo.MissingFilesError, match="bundled weights of 'dcgan-mnist' not found"):
        ganzoo.load("dcgan-mnist")


def test_bad_source_and_revision_without_hub():
    with pytest.raises(ValueError, match="unknown source 'web'; valid: bundled, hub"):
        ganzoo.load("dcgan-mnist", source="web")
    with pytest.raises(ValueError, match="needs the Hub: pass source='hub'"):
        ganzoo.load("dcgan-mnist", revision="v1")


# ---- the Hub (a real huggingface_hub client against a local olah mirror) ----------------------
def hub_env(endpoint: str, home: Path, offline: bool = False) -> dict:
    return {"HF_ENDPOINT": endpoint, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1" if offline else "0",
            "HF_HUB_DISABLE_TELEMETRY": "1"}


HUB_SAMPLE = """
    import hashlib, sys, ganzoo
    g = ganzoo.load(sys.argv[1] if len(sys.argv) > 1 else {spec!r}{extra})
    x = g.sample(8, seed=7)
    print(hashlib.sha256(x.mul(255).round().byte().numpy().tobytes()).hexdigest())
"""


def test_hf_hub_download_then_offline_cache(hub_mirror, tmp_path):
    expected = digest(ganzoo.load("dcgan-mnist").sample(8, seed=7))
    code = HUB_SAMPLE.format(spec="hf-hub:ganzoo/dcgan-mnist", extra="")
    online = run_python(code, hub_env(hub_mirror, tmp_path))
    assert online.returncode == 0, online.stderr
    assert online.stdout.strip() == expected
    assert list((tmp_path / "hub").glob("models--ganzoo--dcgan-mnist/snapshots/*/model.safetensors"))
    offline = run_python(code, hub_env("http://127.0.0.1:9", tmp_path, offline=True))
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.strip() == expected


def test_zoo_name_from_hub_and_revision(hub_mirror, tmp_path):
    expected = digest(ganzoo.load("cgan-mnist").sample(8, seed=7))
    for spec, extra in [("cgan-mnist", ", source='hub'"), ("hf-hub:ganzoo/cgan-mnist@v1", ""),
                        ("hf-hub:ganzoo/cgan-mnist", ", revision='v1'")]:
        out = run_python(HUB_SAMPLE.format(spec=spec, extra=extra), hub_env(hub_mirror, tmp_path))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == expected
    out = run_python(HUB_SAMPLE.format(spec="cgan-mnist", extra=""),
                     {**hub_env(hub_mirror, tmp_path / "fresh"), "GANZOO_SOURCE": "hub"})
    assert out.returncode == 0 and (tmp_path / "fresh" / "hub").exists(), out.stderr


ERROR = """
    import ganzoo
    try:
        ganzoo.load({spec!r}{extra})
    except ganzoo.GanzooError as e:
        print(type(e).__name__ + ": " + str(e))
"""


@pytest.mark.parametrize("spec,extra,expected", [
    ("hf-hub:ganzoo/dcgan-mnist@no-such-branch", "", "RevisionNotFoundError: revision 'no-such-branch' not found in Hub repo 'ganzoo/dcgan-mnist'"),
    ("hf-hub:ganzoo/no-such-model", "", "MissingFilesError: Hub repo ganzoo/no-such-model@main on http://127.0.0.1"),
])
def test_hub_errors(hub_mirror, tmp_path, spec, extra, expected):
    out = run_python(ERROR.format(spec=spec, extra=extra), hub_env(hub_mirror, tmp_path))
    assert out.stdout.startswith(expected), out.stdout + out.stderr


def test_offline_with_nothing_cached_says_how_to_fix(tmp_path):
    out = run_python(ERROR.format(spec="hf-hub:ganzoo/dcgan-mnist", extra=""),
                     hub_env("http://127.0.0.1:9", tmp_path, offline=True))
    assert "HubUnavailableError: cannot get ganzoo/dcgan-mnist@main" in out.stdout, out.stderr
    assert "offline mode is on (HF_HUB_OFFLINE=1)" in out.stdout and "ganzoo.load(NAME) with a zoo name" in out.stdout
    out = run_python(ERROR.format(spec="dcgan-mnist", extra=", source='hub'"),
                     hub_env("http://127.0.0.1:9", tmp_path, offline=True))
    assert "the copy bundled with ganzoo: ganzoo.load('dcgan-mnist')" in out.stdout, out.stdout + out.stderr


def test_unreachable_hub(tmp_path):
    """huggingface_hub retries a refused connection for about 20 s; ganzoo asks once and fails fast."""
    out = run_python(ERROR.format(spec="hf-hub:ganzoo/dcgan-mnist", extra=""),
                     hub_env("http://127.0.0.1:9", tmp_path), timeout=180)
    assert out.stdout.startswith("HubUnavailableError: cannot get ganzoo/dcgan-mnist@main on http://127.0.0.1:9"), \
        out.stdout + out.stderr[-2000:]


if __name__ == "__main__":   # regenerate tests/golden.json after retraining the zoo
    GOLDEN.write_text(json.dumps({n: {"sha256": digest(golden_samples(ganzoo.load(n))),
                                      "slice": [round(float(v), 5) for v in golden_samples(ganzoo.load(n))[0, 0, 14, 10:16]]}
                                  for n in ganzoo.list_models()}, indent=2) + "\n")


def test_import_ganzoo_stays_light():
    """Cold start: importing ganzoo and loading a zoo model pulls in neither the Hub client nor gradio."""
    out = run_python("""
        import sys, ganzoo
        ganzoo.load("dcgan-mnist").sample(2, seed=0)
        print(sorted(m for m in ("gradio", "matplotlib", "accelerate") if m in sys.modules))
    """, {"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_config_that_does_not_fit_its_weights_is_refused_before_building(saved):
    meta = json.loads((saved / "config.json").read_text())
    meta["config"]["ngf"] = 1024                              # 16x the weights' width: a big model, never built
    (saved / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ganzoo.WeightsMismatchError, match="shape mismatches"):
        ganzoo.load(saved)


def test_nan_weights_are_refused(saved):
    from safetensors.torch import load_file, save_file
    state = {k: v.fill_(float("nan")) if v.is_floating_point() else v
             for k, v in load_file(saved / "model.safetensors").items()}
    save_file(state, saved / "model.safetensors")
    with pytest.raises(ganzoo.CorruptWeightsError, match="holds NaN or infinite values"):
        ganzoo.load(saved)


@pytest.mark.parametrize("spec,kwargs,error,match", [
    (None, {}, ganzoo.InvalidSpecError, "a model is a zoo name .* got NoneType"),
    (123, {}, ganzoo.InvalidSpecError, "got int 123"),
    ("a" * 5000, {}, ganzoo.InvalidSpecError, "5000 characters"),
    ("dcgan-mnist", {"device": "bogus"}, ValueError, "unknown device 'bogus'; this machine has: cpu"),
    ("dcgan-mnist", {"dtype": torch.int8}, ValueError, "dtype must be a floating torch.dtype"),
    ("hf-hub:a/b@../../../../tmp/x", {}, ValueError, "invalid revision '../../../../tmp/x'"),
    ("hf-hub:a/b", {"revision": "/etc"}, ValueError, "invalid revision '/etc'"),
    ("hf-hub:bad name!/x", {}, ValueError, "is not a valid Hub repo id"),
])
def test_bad_load_arguments_are_refused_before_any_request(spec, kwargs, error, match):
    with pytest.raises(error, match=match):
        ganzoo.load(spec, **kwargs)


# ---- ImageGenerator.from_pretrained / save_pretrained / push_to_hub (huggingface_hub's ModelHubMixin) --------
def test_save_pretrained_and_from_pretrained_round_trip(tmp_path):
    from ganzoo.models.cgan import CGANGenerator
    from ganzoo.models.dcgan import DCGANGenerator
    g = ganzoo.load("dcgan-mnist")
    g.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert json.loads((tmp_path / "m" / "config.json").read_text())["family"] == "dcgan"   # ganzoo's own config.json
    for loaded in (ganzoo.ImageGenerator.from_pretrained(tmp_path / "m"), DCGANGenerator.from_pretrained(tmp_path / "m"),
                   ganzoo.load(tmp_path / "m")):
        assert type(loaded) is DCGANGenerator and not loaded.training
        assert torch.equal(loaded.sample(4, seed=0), g.sample(4, seed=0))
    card = (tmp_path / "m" / "README.md").read_text()
    assert "library_name: ganzoo" in card and "pip install ganzoo-models" in card
    with pytest.raises(ganzoo.InvalidConfigError, match="holds a DCGANGenerator, not a CGANGenerator"):
        CGANGenerator.from_pretrained(tmp_path / "m")
    with pytest.raises(TypeError, match="unexpected options \\['colour'\\]"):
        ganzoo.ImageGenerator.from_pretrained(tmp_path / "m", colour="red")


def test_from_pretrained_passes_the_hub_options_and_names_ganzoo(monkeypatch, tmp_path):
    import huggingface_hub
    calls = []
    folder = ganzoo.get_entry("cgan-mnist").folder

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs))
        return str(folder / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr(ganzoo.hub, "_endpoint_reachable", lambda endpoint: True)
    g = ganzoo.ImageGenerator.from_pretrained("cgan-mnist", token="hf_x", cache_dir=tmp_path, force_download=True,
                                             revision="v1")
    assert g.num_classes == 10 and [c[:2] for c in calls] == [("ganzoo/cgan-mnist", "config.json"),
                                                               ("ganzoo/cgan-mnist", "model.safetensors")]
    options = calls[0][2]
    assert (options["token"], options["cache_dir"], options["force_download"], options["revision"]) == \
        ("hf_x", tmp_path, True, "v1")
    assert options["library_name"] == "ganzoo" and options["library_version"] == ganzoo.__version__


def test_push_to_hub_sends_the_saved_folder(monkeypatch):
    from huggingface_hub import HfApi
    sent = {}

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        sent.update(repo_id=repo_id, files=sorted(p.name for p in Path(folder_path).iterdir()),
                    family=json.loads((Path(folder_path) / "config.json").read_text())["family"])
        return "https://huggingface.co/me/x/commit/1"

    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **k: __import__("types").SimpleNamespace(repo_id=repo_id))
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    ganzoo.load("vanilla-mnist").push_to_hub("me/my-gan")
    assert sent == {"repo_id": "me/my-gan", "files": ["README.md", "config.json", "model.safetensors"],
                    "family": "vanilla"}


def test_from_pretrained_through_a_hub_mirror_then_local_files_only(hub_mirror, tmp_path):
    code = """
        import hashlib, sys, ganzoo
        g = ganzoo.ImageGenerator.from_pretrained("ganzoo/dcgan-mnist", cache_dir=sys.argv[1],
                                                  local_files_only=sys.argv[2] == "1")
        print(hashlib.sha256(g.sample(8, seed=7).mul(255).round().byte().numpy().tobytes()).hexdigest())
    """
    expected = digest(ganzoo.load("dcgan-mnist").sample(8, seed=7))
    online = run_python(code, hub_env(hub_mirror, tmp_path / "home"), args=[str(tmp_path / "cache"), "0"])
    assert online.returncode == 0 and online.stdout.strip() == expected, online.stderr
    cached = run_python(code, hub_env("http://127.0.0.1:9", tmp_path / "home"), args=[str(tmp_path / "cache"), "1"])
    assert cached.returncode == 0 and cached.stdout.strip() == expected, cached.stderr
    empty = run_python(code, hub_env("http://127.0.0.1:9", tmp_path / "home"), args=[str(tmp_path / "none"), "1"])
    assert "HubUnavailableError" in empty.stderr and "local_files_only=True was given" in empty.stderr
