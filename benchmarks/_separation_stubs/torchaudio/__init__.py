"""Stand-in for torchaudio, for benchmarks/separation.py only.

Open-Unmix imports torchaudio at module level (for file I/O and resampling the benchmark never
calls); the real package would pull a CUDA torch build. Any use of it raises.
"""


def __getattr__(name):
    raise ImportError(f"torchaudio.{name} is not available: this is the benchmark stub (benchmarks/_separation_stubs)")
