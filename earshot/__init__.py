"""earshot: losses that hear the way people do, metrics that agree with listeners, and
reference models that show the losses working.

Audio tensors are ``(batch, channels, samples)`` float32 in [-1, 1]; see the README.
"""

__version__ = "0.1.0"

from earshot import errors  # noqa: E402,F401
from earshot.weights import list_pretrained, load_pretrained  # noqa: E402,F401
