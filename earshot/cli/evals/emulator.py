"""`earshot eval emulator`: how well the shipped codec emulators reproduce the real codec
(`earshot.evals.emulator`).

    earshot eval emulator [--models emulator-spectral emulator-time] [--split test] [--out DIR]
"""

from earshot.cli.options import add_run_command
from earshot.evals.emulator import EmulatorEval


def register(subparsers) -> None:
    from earshot.evals import emulator

    add_run_command(subparsers, "emulator", EmulatorEval, "earshot.evals.emulator:run",
                    help="codec emulators' accuracy: codec effect explained, LSD", description=emulator.__doc__)
