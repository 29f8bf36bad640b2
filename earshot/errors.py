"""Every exception earshot raises on purpose. Each names the file, argument or shape at fault."""

from __future__ import annotations


class EarshotError(Exception):
    """Base class of all earshot errors."""


class AudioFileError(EarshotError):
    """An audio file is missing, empty, truncated, not audio, or in an unsupported format."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ShapeError(EarshotError, ValueError):
    """A tensor has the wrong number of dimensions or shapes do not match."""


class NonFiniteError(EarshotError, ValueError):
    """A tensor holds NaN or Inf."""


class SampleRateError(EarshotError, ValueError):
    """A sample rate is missing, invalid, or not the one required."""


class ConfigError(EarshotError, ValueError):
    """A configuration value, override or argument is invalid."""


class ToolMissingError(EarshotError):
    """An external program or package is not installed; names the package to install."""

    def __init__(self, tool: str, package: str, how: str = "apt-get install"):
        self.tool, self.package = tool, package
        super().__init__(f"'{tool}' was not found; install it with: {how} {package}")


class WeightsError(EarshotError):
    """Pretrained weights are missing, unknown, or fail their sha256 check."""


class BitstreamError(EarshotError):
    """A codec bitstream file is truncated, corrupted, or from another model."""


class DataError(EarshotError):
    """A dataset, manifest, judgment list or corpus item is malformed."""


class DTypeError(EarshotError, TypeError):
    """A tensor has a dtype the function cannot take (e.g. integer PCM where floats are needed)."""


class MissingExtraError(ToolMissingError):
    """An optional Python package is not installed; names the earshot extra that provides it."""

    def __init__(self, module: str, extra: str):
        self.module, self.extra = module, extra
        EarshotError.__init__(self, f"the Python package '{module}' is not installed; "
                                    f"install it with: pip install 'earshot[{extra}]'")
        self.tool, self.package = module, f"earshot[{extra}]"


class UndefinedMetricWarning(RuntimeWarning):
    """A metric is undefined for an item (too short, silent, no speech found): it scored NaN."""
