"""The ``xpuplan`` command line.

Each command is a module of :mod:`xpuplan.planner.commands` with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Errors a user can cause
(:class:`xpuplan.models.XpuplanError`) print one line and exit with code 2, never a traceback.
A bug found by a check (:class:`xpuplan.models.InternalError`, e.g. a solver's schedule that the
checker rejects) prints one line on stderr and exits with code 3; an interrupt (Ctrl-C) exits
with code 130 and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from xpuplan import models
from xpuplan.models import InternalError, XpuplanError
from xpuplan.planner.commands import (
    compare,
    convert,
    inspect,
    instance,
    listing,
    plan,
    platform_cmd,
    profile,
    report,
    run,
    simulate,
    solve,
    sweep,
    verify,
)

COMMANDS: tuple[ModuleType, ...] = (
    plan,
    instance,
    solve,
    verify,
    convert,
    simulate,
    compare,
    sweep,
    report,
    listing,
    inspect,
    profile,
    platform_cmd,
    run,
)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit code 2, as for every bad input)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="xpuplan",
        description="Optimal and bounded schedules for AI inference on heterogeneous SoCs.",
    )
    parser.add_argument("--version", action="version", version=f"xpuplan {models.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in COMMANDS:
        cmd_parser = sub.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(cmd_parser)
        cmd_parser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xpuplan`` console script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (already reported)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return int(args.run(args))
    except XpuplanError as exc:
        print(f"xpuplan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"xpuplan {args.command}: error: out of memory; plan a shorter horizon or fewer "
            "kernels (--horizon, --max-kernels)",
            file=sys.stderr,
        )
        return 1
    except InternalError as exc:
        print(
            f"xpuplan {args.command}: internal error (a bug; please report it): {exc}",
            file=sys.stderr,
        )
        return 3
    except KeyboardInterrupt:
        print(f"xpuplan {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``xpuplan list --json | head``): stop quietly, as Unix tools do.
        # Python would print another error while flushing stdout at exit; point it at devnull
        # (the recipe of the ``signal`` module's documentation, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
