"""Audio files and real codecs: load/save, resampling, MP3/Opus round trips."""

from earshot.audio.io import AUDIO_EXTENSIONS, info, load, save
from earshot.audio.resample import resample

__all__ = ["AUDIO_EXTENSIONS", "info", "load", "save", "resample"]
