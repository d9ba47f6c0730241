"""The `glassnet` command line: a thin dispatcher over subcommands.

    $ glassnet --version
    glassnet 0.1.0
    $ glassnet info mnist.glassnet          # layers, shapes, parameters, compile settings

Each subcommand is a pair of functions in `COMMANDS`:

    add_parser(subparsers) -> argparse.ArgumentParser     declares its name and arguments
    run(args: argparse.Namespace) -> int | None           does the work; returns the exit code

so adding one (`train`, `predict`, ...) is one import and one line in the table. Errors that
the user can fix (missing or broken file, bad argument) print one line
`glassnet: error: ...` on stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from glassnet import __version__
from glassnet.commands import demo, train

PROG = "glassnet"
EXIT_USAGE = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage block), as the whole CLI does."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, _error_line(f"{message} (see '{self.prog} --help')"))


# ----- subcommands ------------------------------------------------------------------------
def add_info_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "info", help="describe a saved model (.glassnet)",
        description="Print a saved model's layers (type, output shape, parameter count), its "
                    "compile settings, the optimizer's step count and the file format.")
    parser.add_argument("model_file", metavar="MODEL_FILE", help="a file written by model.save")
    return parser


def run_info(args: argparse.Namespace) -> int:
    from glassnet.saving import model_summary_lines

    for line in model_summary_lines(args.model_file):
        print(line)
    return 0


AddParser = Callable[..., argparse.ArgumentParser]
Run = Callable[[argparse.Namespace], "int | None"]
Command = tuple[AddParser, Run]

# (add_parser, run) per subcommand, in the order `glassnet --help` lists them.
COMMANDS: list[Command] = [
    (add_info_parser, run_info),
    (demo.add_parser, demo.run),
    (train.add_parser, train.run),
    (train.add_evaluate_parser, train.run_evaluate),
    (train.add_predict_parser, train.run_predict),
]


# ----- dispatch ---------------------------------------------------------------------------
def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG, description="glassnet: deep learning in plain NumPy.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subparsers.required = True
    for add_parser, run in COMMANDS:
        add_parser(subparsers).set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv[1:]); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:           # --help, --version, or a usage error (printed)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError, OSError) as error:
        sys.stderr.write(_error_line(_message(error)))
        return EXIT_USAGE
    except MemoryError as error:      # e.g. NumPy's _ArrayMemoryError: still one line
        sys.stderr.write(_error_line(f"out of memory: {error}"))
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write(_error_line("interrupted"))
        return 130


def _message(error: BaseException) -> str:
    if isinstance(error, FileNotFoundError) and error.filename is not None:
        return f"file not found: {error.filename}"
    return str(error) or type(error).__name__


def _error_line(message: str) -> str:
    """'glassnet: error: ...' on one line, whatever newlines the message holds."""
    return f"{PROG}: error: {' '.join(message.split())}\n"


if __name__ == "__main__":
    sys.exit(main())
