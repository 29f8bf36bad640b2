"""earshot: losses that hear the way people do, metrics that agree with listeners, and
reference models that show the losses working.

Audio tensors are ``(batch, channels, samples)`` float32 in [-1, 1]; see the README.
Losses live in :mod:`earshot.losses`, metrics in :mod:`earshot.metrics`, models in
:mod:`earshot.models`; the command line is ``earshot`` (or ``python -m earshot``).
"""

__version__ = "0.1.0"

from earshot import errors  # noqa: E402,F401
from earshot.weights import list_pretrained, load_pretrained  # noqa: E402,F401

__all__ = ["__version__", "errors", "list_pretrained", "load_pretrained"]
