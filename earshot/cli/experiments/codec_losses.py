"""`earshot experiment codec-losses`: the codec recipe with and without ``extra_loss=jnd`` and
``extra_loss=codec`` at equal steps, over seeds (`earshot.experiments.codec_losses`)."""

from earshot.cli.options import add_run_command
from earshot.experiments.codec_losses import CodecLossExperiment


def register(subparsers) -> None:
    from earshot.experiments import codec_losses

    add_run_command(subparsers, "codec-losses", CodecLossExperiment, "earshot.experiments.codec_losses:run",
                    help="codec recipe with and without a JNDLoss / CodecLoss term, over seeds",
                    description=codec_losses.__doc__)
