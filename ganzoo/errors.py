"""Exceptions raised by ganzoo.load and friends. All derive from GanzooError.

Each message names the bad value, the valid choices and, where it helps, how to fix it.
"""


class GanzooError(Exception):
    """Base class of ganzoo's errors."""


class UnknownModelError(GanzooError, KeyError):
    """A zoo name that is not registered (the message lists the nearest names)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class InvalidSpecError(GanzooError, ValueError):
    """What was given to load is neither a zoo name, an 'hf-hub:' spec nor a folder path."""


class MissingFilesError(GanzooError, FileNotFoundError):
    """A folder or Hub repo without config.json or model.safetensors."""


class InvalidConfigError(GanzooError, ValueError):
    """config.json that cannot be read or names an unknown family or option."""


class CorruptWeightsError(GanzooError, ValueError):
    """A safetensors file that is truncated or not safetensors at all."""


class ChecksumMismatchError(GanzooError, ValueError):
    """Bundled weights whose sha256 differs from the registry's."""


class WeightsMismatchError(GanzooError, ValueError):
    """Weights whose keys or shapes do not fit the model built from the config."""


class HubUnavailableError(GanzooError, ConnectionError):
    """The Hub cannot be reached, or offline mode is on and nothing is cached."""


class RevisionNotFoundError(GanzooError, ValueError):
    """A Hub revision (branch, tag or commit) that the repo does not have."""
