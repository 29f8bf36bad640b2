"""Shipped model weights (``NAME.safetensors`` + ``NAME.json`` manifests) and their loader.

``load_pretrained(name)`` returns the model in eval mode after checking its sha256;
``list_pretrained()`` names what is shipped. See :mod:`earshot.weights.hub`.
"""

from earshot.weights.hub import (
    list_pretrained,
    load_pretrained,
    pretrained_info,
    save_pretrained,
    verify_pretrained,
)

__all__ = ["list_pretrained", "load_pretrained", "pretrained_info", "save_pretrained", "verify_pretrained"]
