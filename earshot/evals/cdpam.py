"""CDPAM (Manocha et al., ICASSP 2021) as a benchmark-only peer of the JND metric.

Install it without its dependencies (``pip install --no-deps cdpam``); its bundled weights
load offline. Its package ``__init__`` imports ``resampy`` (not a dependency of earshot), so
this adapter loads the wheel's ``models.py`` directly, builds the network with the settings of
``cdpam.CDPAM`` and reads the bundled state with ``torch.load(..., weights_only=False)`` (a
pickle from the cdpam wheel: only ever point this at that file). Its distance is the one
``cdpam.CDPAM.forward`` computes: int16-scaled 22.05 kHz audio, normalised "acoustic"
embeddings, then its learned distance head.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F

from earshot.errors import ToolMissingError

SAMPLE_RATE = 22050
_WEIGHTS = "CDPAM_trained/scratchJNDdefault_best_model.pth"


class CDPAMPeer:
    """The pip ``cdpam`` model on CPU. ``distance(x, y, sample_rate)`` on ``(batch, 1, T)`` -> ``(batch,)``."""

    def __init__(self):
        spec = importlib.util.find_spec("cdpam")
        if spec is None or not spec.submodule_search_locations:
            raise ToolMissingError("cdpam", "cdpam", how="pip install --no-deps")
        root = Path(spec.submodule_search_locations[0])
        mspec = importlib.util.spec_from_file_location("_earshot_cdpam_models", root / "models.py")
        models = importlib.util.module_from_spec(mspec)
        mspec.loader.exec_module(models)
        net = models.FINnet(dev=torch.device("cpu"), encoder_layers=16, encoder_filters=64, ndim=[16, 6],
                            classif_dp=0.05, classif_BN=0, classif_act="no", input_size=512)
        state = torch.load(root / _WEIGHTS, map_location="cpu", weights_only=False)["state"]
        net.load_state_dict(state)
        self.net = net.eval().requires_grad_(False)

    def _prepare(self, x: torch.Tensor, sample_rate: int) -> torch.Tensor:
        x = x.mean(1)  # (batch, T) mono
        if sample_rate != SAMPLE_RATE:
            if x.requires_grad:
                from earshot.dsp.resample import resample as dsp_resample

                x = dsp_resample(x, sample_rate, SAMPLE_RATE)
            else:
                from earshot.audio.resample import resample

                x = resample(x, sample_rate, SAMPLE_RATE)
        return x.float() * 32768.0

    def embed(self, x: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Normalised acoustic embedding ``(batch, 256)`` of ``(batch, channels, T)`` audio in [-1, 1]."""
        _, acoustics, _ = self.net.base_encoder(self._prepare(x, sample_rate).unsqueeze(1))
        return F.normalize(acoustics, dim=1)

    def distance_from_embeddings(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net.model_dist(a, b)

    def distance(self, x: torch.Tensor, y: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """``(batch,)`` CDPAM distance of two ``(batch, channels, T)`` clips at ``sample_rate``."""
        return self.distance_from_embeddings(self.embed(x, sample_rate), self.embed(y, sample_rate))

