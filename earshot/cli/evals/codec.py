"""`earshot eval codec`: the shipped SoundStream codec vs Opus and MP3 (`earshot.evals.codec`).

    earshot eval codec [--model codec-16k] [--kbps 3 6 12] [--items 8] [--seconds 4] [--out DIR]
"""

from earshot.cli.options import add_run_command
from earshot.evals.codec import CodecEval


def register(subparsers) -> None:
    from earshot.evals import codec

    add_run_command(subparsers, "codec", CodecEval, "earshot.evals.codec:run",
                    help="SoundStream codec vs Opus and MP3 (PESQ, STOI, mel, SI-SDR, JND)", description=codec.__doc__)
