"""SoundStream: encoder, residual VQ and decoder in one module, with an optional denoise FiLM.

Audio is mono ``(batch, 1, samples)`` at ``sample_rate``; codes are ``(batch, n_q, frames)``
int64 with ``frames = ceil(samples / hop)``. Each stage costs ``log2(codebook_size)`` bits per
frame, so the bitrate is ``n_q * frame_rate * bits``: with the defaults (hop 320, 1024 codes)
500 bit/s per stage at 16 kHz (3 / 6 / 12 kbps = 6 / 12 / 24 stages) and 750 bit/s at 24 kHz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from earshot.errors import ConfigError, ShapeError
from earshot.models.codec.decoder import Decoder
from earshot.models.codec.encoder import DEFAULT_STRIDES, Encoder
from earshot.models.codec.film import FiLM
from earshot.models.codec.istft import ISTFTDecoder
from earshot.models.codec.layers import ResidualUnit
from earshot.models.codec.rvq import ResidualVectorQuantizer
from earshot.validate import check_audio, check_sample_rate

FILM_POSITIONS = (None, "encoder", "decoder", "both")
DECODERS = ("conv", "istft")


@dataclass
class CodecOutput:
    """What :meth:`SoundStream.forward` returns.

    Attributes:
        audio: ``(B, 1, T)`` reconstruction, as long as the input.
        codes: ``(B, n_q, N)`` int64 codes (``-1`` where quantizer dropout switched a stage off).
        commit_loss: scalar commitment loss of the quantizer.
        n_quantizers: ``(B,)`` stages used per example.
    """

    audio: torch.Tensor
    codes: torch.Tensor
    commit_loss: torch.Tensor
    n_quantizers: torch.Tensor


class SoundStream(nn.Module):
    """The SoundStream neural codec (Zeghidour et al. 2021).

    Args:
        sample_rate: audio rate in Hz (16000 and 24000 are the tested ones).
        channels: encoder/decoder width ``C`` (the paper's C = 32; doubled after each block).
        dim: embedding size quantized by the RVQ.
        strides: encoder downsampling per block; hop = product (default 320 = 20 ms at 16 kHz).
        n_quantizers: RVQ stages (the highest bitrate).
        codebook_size: codes per stage (1024 = 10 bits).
        max_channels: optional cap on the doubling widths.
        film: where the denoise FiLM sits: ``"encoder"`` (on the embeddings before quantization),
            ``"decoder"`` (on the decoder input), ``"both"``, or ``None``.
        quantizer_dropout, min_quantizers, decay, dead_threshold: see
            :class:`~earshot.models.codec.rvq.ResidualVectorQuantizer`.
        weight_norm: weight-normalise every encoder/decoder conv (trains faster; fold it with
            :meth:`remove_weight_norm` before shipping).
        decoder: ``"conv"`` (the paper's mirrored transposed-conv decoder) or ``"istft"`` (a
            Vocos-style frame-rate stack with an inverse-FFT head,
            :class:`~earshot.models.codec.istft.ISTFTDecoder`; streams the same way).
        decoder_width, decoder_blocks: width and residual groups of the ``"istft"`` decoder.
    """

    def __init__(self, sample_rate: int = 16000, channels: int = 32, dim: int = 128, *,
                 strides=DEFAULT_STRIDES, n_quantizers: int = 24, codebook_size: int = 1024,
                 max_channels: int | None = None, film: str | None = "encoder",
                 quantizer_dropout: float = 1.0, min_quantizers: int = 1, decay: float = 0.99,
                 dead_threshold: float = 0.01, weight_norm: bool = False, decoder: str = "conv",
                 decoder_width: int = 256, decoder_blocks: int = 2):
        super().__init__()
        if film not in FILM_POSITIONS:
            raise ConfigError(f"film must be one of {FILM_POSITIONS}, got {film!r}")
        if decoder not in DECODERS:
            raise ConfigError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        self.sample_rate = check_sample_rate(sample_rate)
        self.encoder = Encoder(channels, dim, strides=strides, max_channels=max_channels)
        if decoder == "istft":
            self.decoder = ISTFTDecoder(dim, decoder_width, self.encoder.hop, blocks=decoder_blocks)
        else:
            self.decoder = Decoder(channels, dim, strides=strides, max_channels=max_channels)
        self.quantizer = ResidualVectorQuantizer(
            dim, n_quantizers, codebook_size, dropout=quantizer_dropout, min_quantizers=min_quantizers,
            decay=decay, dead_threshold=dead_threshold)
        self.film_position = film
        self.encoder_film = FiLM(dim) if film in ("encoder", "both") else None
        self.decoder_film = FiLM(dim) if film in ("decoder", "both") else None
        self.hop = self.encoder.hop
        self.reset_parameters()
        self.weight_norm = False
        if weight_norm:
            for conv in self._convs():
                torch.nn.utils.parametrizations.weight_norm(conv)
            self.weight_norm = True

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Variance-preserving init of the encoder and decoder.

        Weights ~ N(0, 1 / fan_in) (a transposed conv's fan-in is ``in * kernel / stride``), zero
        biases, and every residual unit's 1x1 conv scaled by 0.1 so each unit starts close to
        the identity (not at zero: weight normalisation needs a non-zero weight).
        The untrained codec then passes audio at about unit gain and maps silence to silence;
        PyTorch's default init shrinks the signal ~1e-5 through this depth, and training must
        first undo that (many steps spent producing an input-independent average spectrum).
        """
        for conv in self._convs():
            k, s = conv.kernel_size[0], conv.stride[0]
            fan_in = conv.in_channels * k / s if isinstance(conv, nn.ConvTranspose1d) else conv.in_channels * k
            nn.init.normal_(conv.weight, 0.0, (conv.groups / fan_in) ** 0.5)
            nn.init.zeros_(conv.bias)
        for unit in (m for m in self.modules() if isinstance(m, ResidualUnit)):
            unit.pointwise.weight.mul_(0.1)

    def _convs(self) -> list[nn.Module]:
        kinds = (nn.Conv1d, nn.ConvTranspose1d)
        return [m for part in (self.encoder, self.decoder) for m in part.modules() if isinstance(m, kinds)]

    def remove_weight_norm(self) -> "SoundStream":
        """Fold weight normalisation into plain conv weights (same outputs, faster); returns self.

        A model trained with ``weight_norm=True`` is shipped folded, as ``weight_norm=False``.
        """
        from torch.nn.utils import parametrize

        for conv in self._convs():
            if parametrize.is_parametrized(conv, "weight"):
                parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
        self.weight_norm = False
        return self

    # -- bitrates -------------------------------------------------------------------------------
    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    @property
    def bits_per_code(self) -> int:
        return max(1, math.ceil(math.log2(self.quantizer.codebook_size)))

    def bitrate(self, n_quantizers: int) -> float:
        """Bitrate in kbit/s of ``n_quantizers`` stages."""
        return n_quantizers * self.frame_rate * self.bits_per_code / 1000

    def quantizers_for_kbps(self, kbps: float) -> int:
        """Number of stages whose bitrate is nearest ``kbps``; ConfigError outside the model's range."""
        n = round(kbps * 1000 / (self.frame_rate * self.bits_per_code))
        if not 1 <= n <= self.quantizer.n_quantizers:
            lo, hi = self.bitrate(1), self.bitrate(self.quantizer.n_quantizers)
            raise ConfigError(f"kbps={kbps} is outside this model's range {lo:g}-{hi:g} kbps")
        return n

    # -- coding ---------------------------------------------------------------------------------
    def embed(self, audio: torch.Tensor, denoise=False) -> torch.Tensor:
        """Audio ``(B, 1, T)`` -> embeddings ``(B, dim, ceil(T / hop))`` (zero-padded at the end)."""
        check_audio(audio, "audio")
        if audio.shape[1] != 1:
            raise ShapeError(f"SoundStream codes mono audio (batch, 1, samples), got {tuple(audio.shape)}")
        audio = F.pad(audio, (0, -audio.shape[-1] % self.hop))
        z = self.encoder(audio)
        return self.encoder_film(z, denoise) if self.encoder_film is not None else z

    def synthesize(self, embeddings: torch.Tensor, denoise=False) -> torch.Tensor:
        """Quantized embeddings ``(B, dim, N)`` -> audio ``(B, 1, N * hop)``."""
        if self.decoder_film is not None:
            embeddings = self.decoder_film(embeddings, denoise)
        return self.decoder(embeddings)

    def encode(self, audio: torch.Tensor, n_quantizers: int | None = None, *, denoise=False) -> torch.Tensor:
        """Audio ``(B, 1, T)`` -> codes ``(B, n_q, ceil(T / hop))``; never updates the codebooks."""
        n_q = self.quantizer.n_quantizers if n_quantizers is None else n_quantizers
        return self.quantizer.encode(self.embed(audio, denoise), n_q)

    def decode(self, codes: torch.Tensor, *, denoise=False, length: int | None = None) -> torch.Tensor:
        """Codes ``(B, n_q, N)`` -> audio ``(B, 1, N * hop)``, cut to ``length`` samples if given."""
        audio = self.synthesize(self.quantizer.decode(codes), denoise)
        return audio if length is None else audio[..., :length]

    def forward(self, audio: torch.Tensor, n_quantizers=None, *, denoise=False, quantize: bool = True) -> CodecOutput:
        """Encode, quantize and decode ``(B, 1, T)``; returns a :class:`CodecOutput` of length ``T``.

        ``n_quantizers`` ``None`` draws per-example stages (quantizer dropout) in training mode
        and uses all stages in eval mode; ``denoise`` a bool or ``(B,)`` tensor of flags.
        ``quantize=False`` bypasses the RVQ (an autoencoder warm-up before the codebooks are
        initialised; ``codes`` is then empty and ``commit_loss`` zero).
        """
        if not quantize:
            z = self.embed(audio, denoise)
            out = self.synthesize(z, denoise)[..., : audio.shape[-1]]
            none = torch.zeros(audio.shape[0], 0, z.shape[-1], dtype=torch.long, device=z.device)
            return CodecOutput(audio=out, codes=none, commit_loss=z.new_zeros(()),
                               n_quantizers=torch.zeros(audio.shape[0], dtype=torch.long, device=z.device))
        q = self.quantizer(self.embed(audio, denoise), n_quantizers)
        out = self.synthesize(q.quantized, denoise)[..., : audio.shape[-1]]
        return CodecOutput(audio=out, codes=q.codes, commit_loss=q.commit_loss, n_quantizers=q.n_quantizers)
