"""ganzoo: a model zoo of generative adversarial networks.

    import ganzoo
    g = ganzoo.load("dcgan-mnist")
    ganzoo.make_grid(g.sample(64, seed=0)).save("grid.png")
"""
__version__ = "0.1.0"

from .errors import (ChecksumMismatchError, CorruptWeightsError, GanzooError, HubUnavailableError,  # noqa: E402
                     InvalidConfigError, InvalidSpecError, MissingFilesError, RevisionNotFoundError, UnknownModelError,
                     WeightsMismatchError)
from .hub import load, save_pretrained  # noqa: E402
from .images import make_grid, save_gif  # noqa: E402
from .models import ImageGenerator, build_discriminator, build_generator, make_config  # noqa: E402
from .registry import ZooEntry, get_entry, list_models  # noqa: E402
from .projection import Projection, project  # noqa: E402
from .sampling import interpolate, lerp, slerp  # noqa: E402

__all__ = [
    "__version__", "load", "save_pretrained", "list_models", "get_entry", "ZooEntry", "make_grid", "save_gif",
    "interpolate", "lerp", "slerp", "ImageGenerator", "build_generator", "build_discriminator", "make_config",
    "project", "Projection",
    "GanzooError", "UnknownModelError", "MissingFilesError", "InvalidConfigError", "InvalidSpecError", "CorruptWeightsError",
    "ChecksumMismatchError", "WeightsMismatchError", "HubUnavailableError", "RevisionNotFoundError",
]
