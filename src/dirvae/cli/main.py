"""The ``dirvae`` command: a lazy table of sub-commands, as pip's ``commands/__init__.py`` keeps one.

Each entry names the module that implements a command and its one-line
summary, so ``dirvae --help`` lists them without importing any (Lightning,
PyAV and SciPy take seconds), and ``dirvae CMD`` imports only CMD's module.
Each module has ``add_arguments(parser)`` and ``run(args) -> int``.

User errors (:class:`~dirvae.errors.DirvaeError`, bad flags) print one line
and exit 2; Ctrl-C exits 130.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NamedTuple, Sequence

from dirvae import printer
from dirvae.errors import DirvaeError
from dirvae.version import __version__


class Command(NamedTuple):
    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "train": Command("dirvae.cli.train", "Train a Dirichlet VAE on a folder of images, audio, video or text (or the embedded digits)."),
    "sample": Command("dirvae.cli.sample", "Draw latents from the prior (or Dir(--alpha)) and decode them."),
    "reconstruct": Command("dirvae.cli.reconstruct", "Encode inputs and decode them again: inputs and reconstructions side by side."),
    "interpolate": Command("dirvae.cli.interpolate", "Walk the latent space from input A to input B and decode every step."),
    "traverse": Command("dirvae.cli.traverse", "Show what each latent component has learned: one row per component."),
    "encode": Command("dirvae.cli.encode", "Write each item's posterior: one row per file (per window for audio, per frame for video)."),
    "evaluate": Command("dirvae.cli.evaluate", "Evaluate a trained run on held-out data: NLL, ELBO, kNN accuracy and component collapse."),
    "topics": Command("dirvae.cli.topics", "List a topic model's topics: top words with weights, most prevalent first."),
    "pack": Command("dirvae.cli.pack", "Pack a folder into tar or Parquet shards (with an index of item counts) for training at scale."),
}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (no usage block), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def top_parser() -> argparse.ArgumentParser:
    """``dirvae [--version] COMMAND ...``: the commands listed from the table, none imported."""
    listing = "\n".join(f"  {name:<12} {command.summary}" for name, command in COMMANDS.items())
    parser = OneLineParser(
        prog="dirvae",
        description="Dirichlet Variational Autoencoders for images, audio, video and text.",
        epilog=f"commands:\n{listing}\n\n'dirvae COMMAND --help' describes one.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="dirvae [-h] [--version] COMMAND ...",
    )
    parser.add_argument("--version", action="version", version=f"dirvae {__version__}")
    parser.add_argument("command", nargs="?", metavar="COMMAND", help=", ".join(COMMANDS))
    return parser


def command_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    """The parser of one command, built from its module (imported now, and only it)."""
    module = importlib.import_module(COMMANDS[name].module)
    parser = OneLineParser(prog=f"dirvae {name}", description=(module.__doc__ or "").strip())
    module.add_arguments(parser)
    return parser, module


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        top = top_parser()
        top.parse_args(argv[:1])
        top.print_help()
        return 0
    name = argv[0]
    if name not in COMMANDS:
        top_parser().error(f"argument COMMAND: invalid choice: {name!r} (choose from {', '.join(COMMANDS)})")
    try:
        parser, module = command_parser(name)  # imports the command: seconds for train (Lightning)
        args = parser.parse_args(argv[1:])
        args.command = name
        return int(module.run(args) or 0)
    except DirvaeError as error:
        printer.error(name, str(error))
        return 2
    except KeyboardInterrupt:
        printer.note("interrupted", name)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
