"""The ``dirvae`` command: one sub-command per module in :mod:`dirvae.cli`.

User errors (:class:`~dirvae.errors.DirvaeError`, bad flags) print one line
and exit 2; Ctrl-C exits 130.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from dirvae import __version__
from dirvae import printer
from dirvae.errors import DirvaeError

# name -> module; each module has add_arguments(parser) and run(args) -> int.
COMMANDS: dict[str, str] = {
    "train": "dirvae.cli.train",
    "sample": "dirvae.cli.sample",
    "reconstruct": "dirvae.cli.reconstruct",
    "interpolate": "dirvae.cli.interpolate",
    "traverse": "dirvae.cli.traverse",
    "encode": "dirvae.cli.encode",
    "evaluate": "dirvae.cli.evaluate",
}


def _available_commands() -> dict[str, object]:
    modules = {}
    for name, module_name in COMMANDS.items():
        try:
            modules[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
    return modules


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (no usage block), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="dirvae",
        description="Dirichlet Variational Autoencoders for images, audio and video.",
    )
    parser.add_argument("--version", action="version", version=f"dirvae {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _available_commands().items():
        doc = (module.__doc__ or "").strip().splitlines()
        sub = subparsers.add_parser(name, help=doc[0] if doc else None, description=(module.__doc__ or "").strip())
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except DirvaeError as error:
        printer.error(args.command, str(error))
        return 2
    except KeyboardInterrupt:
        printer.note("interrupted", args.command)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
