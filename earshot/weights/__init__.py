"""Shipped model weights (``NAME.safetensors`` + ``NAME.json`` manifests) and their loader.

``load_pretrained(name, device=...)`` returns the model in eval mode after checking the
manifest's signature (the weights file's sha256 and the manifest's class, kwargs and sample
rate); ``list_pretrained()`` names what is shipped. See :mod:`earshot.weights.hub`.
"""

from earshot.weights.hub import (
    list_pretrained,
    load_pretrained,
    pretrained_info,
    save_pretrained,
    sign_manifest,
    verify_pretrained,
)

__all__ = ["list_pretrained", "load_pretrained", "pretrained_info", "save_pretrained", "sign_manifest",
           "verify_pretrained"]
