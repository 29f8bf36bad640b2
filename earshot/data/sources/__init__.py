"""Generators behind the built-in corpus: espeak-ng speech, fluidsynth music, synthetic noise."""
