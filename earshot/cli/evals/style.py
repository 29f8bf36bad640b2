"""`earshot eval style`: style distances of transfers on corpus pairs, per feature network and
method (`earshot.evals.style`)."""

from earshot.cli.options import add_run_command
from earshot.evals.style import StyleEval


def register(subparsers) -> None:
    from earshot.evals import style

    add_run_command(subparsers, "style", StyleEval, "earshot.evals.style:run",
                    help="evaluate style transfer on corpus speech and music pairs", description=style.__doc__)
