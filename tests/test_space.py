"""space/: the Hugging Face Space of the demo. Its README front matter and requirements (fast), and
(slow) the folder started the way a Space starts it: `python app.py` with SPACE_ID set, loading
the zoo from a Hub (a local olah mirror), and elsewhere from the bundle."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo
from tests.conftest import REPO, free_port, wait_for_port

SPACE = REPO / "space"


def front_matter() -> dict:
    yaml = pytest.importorskip("yaml")
    text = (SPACE / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_front_matter_is_a_gradio_space_linking_the_zoo():
    meta = front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and (SPACE / meta["app_file"]).is_file()
    assert meta["models"] == [ganzoo.get_entry(n).hub_repo for n in ganzoo.list_models()]
    assert meta["license"] == ganzoo.get_entry("dcgan-mnist").license


def test_sdk_version_is_the_tested_gradio():
    """The Space runs the gradio release these tests ran on, inside the range pyproject declares."""
    gr = pytest.importorskip("gradio")
    from packaging.specifiers import SpecifierSet
    meta = front_matter()
    assert str(meta["sdk_version"]) == gr.__version__
    demo_extra = re.search(r'demo = \["gradio([^"]*)"\]', (REPO / "pyproject.toml").read_text()).group(1)
    assert gr.__version__ in SpecifierSet(demo_extra)
    assert str(meta["python_version"]) == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_requirements_install_the_cpu_torch_and_this_release():
    lines = [x.strip() for x in (SPACE / "requirements.txt").read_text().splitlines() if x.strip() and not x.startswith("#")]
    assert lines == ["--extra-index-url https://download.pytorch.org/whl/cpu", "torch==2.13.0",
                     f"ganzoo-models[demo]=={ganzoo.__version__}"]


def start_space(tmp: Path, env: dict) -> tuple[subprocess.Popen, int]:
    """`python app.py` in space/, as a Space runs it (the package importable, not the checkout's app.py)."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GANZOO_", "GRADIO_", "SPACE_"))}
    full.update({"GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp / "gradio"),
                 "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "HF_HOME": str(tmp / "hf"),
                 "PYTHONPATH": str(REPO), **env})
    log = open(tmp / "space.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=SPACE, env=full, stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    return proc, port


def sample_over_http(port: int) -> bytes:
    from gradio_client import Client
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    return Path(client.predict("cgan-mnist", 16, 3, api_name="/sample")).read_bytes()


@pytest.fixture(scope="module")
def bundled_sample(tmp_path_factory):
    """What /sample answers from the bundled models: the Hub copy must answer the same."""
    from ganzoo import demo
    return Path(demo.sample("cgan-mnist", 16, 3, cache=demo.PictureCache(tmp_path_factory.mktemp("c")))).read_bytes()


@pytest.mark.slow
def test_on_a_space_models_come_from_the_hub(hub_mirror, tmp_path, bundled_sample):
    proc, port = start_space(tmp_path, {"SPACE_ID": "ganzoo/demo", "SPACE_AUTHOR_NAME": "ganzoo",
                                        "SPACE_REPO_NAME": "demo", "HF_ENDPOINT": hub_mirror})
    try:
        wait_for_port(port, proc, timeout=180)
        assert sample_over_http(port) == bundled_sample
        for name in ganzoo.list_models():
            assert list((tmp_path / "hf" / "hub").glob(f"models--ganzoo--{name}/snapshots/*/model.safetensors")), name
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.log.close()


@pytest.mark.slow
def test_elsewhere_models_come_from_the_bundle(tmp_path, bundled_sample):
    proc, port = start_space(tmp_path, {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"})
    try:
        wait_for_port(port, proc, timeout=120)
        assert sample_over_http(port) == bundled_sample
        assert not (tmp_path / "hf" / "hub").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.log.close()


@pytest.mark.slow
def test_without_the_hub_a_space_says_so_in_one_line(tmp_path):
    proc, _ = start_space(tmp_path, {"SPACE_ID": "ganzoo/demo", "HF_HUB_OFFLINE": "1"})
    try:
        assert proc.wait(timeout=120) == 2
    finally:
        proc.log.close()
    lines = [x for x in (tmp_path / "space.log").read_text().splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("app.py: error: cannot get ganzoo/") and "HF_HUB_OFFLINE=1" in lines[0]
