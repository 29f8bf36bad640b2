"""SoundStream neural audio codec: model, residual VQ, streaming, bitstream files."""

from earshot.models.codec.decoder import Decoder
from earshot.models.codec.encoder import Encoder
from earshot.models.codec.film import FiLM
from earshot.models.codec.model import CodecOutput, SoundStream
from earshot.models.codec.rvq import QuantizerOutput, ResidualVectorQuantizer, VectorQuantizer

__all__ = [
    "CodecOutput", "Decoder", "Encoder", "FiLM", "QuantizerOutput", "ResidualVectorQuantizer",
    "SoundStream", "VectorQuantizer",
]
