"""Command line of the book's helpers: ``python -m helpers <command> [options]``.

Each command is one module-level function that adds its subparser and sets ``func`` (a callable
``func(args) -> exit code``); list it in ``SUBCOMMANDS``. To add a command ``ocr``::

    def add_ocr(subparsers):
        from .ocr import add_cli
        add_cli(subparsers)

    SUBCOMMANDS.append(add_ocr)

Imports happen inside the adders' commands, so ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import sys


def add_data(subparsers) -> None:
    """``python -m helpers data``: draw the generated character set into the cache."""
    from .data import add_cli

    add_cli(subparsers)


def add_ocr(subparsers) -> None:
    """``python -m helpers ocr``: read the text of photographed hand-printed pages."""
    from .ocr import add_cli

    add_cli(subparsers)


def add_student(subparsers) -> None:
    """``python -m helpers student OUT``: the chapter notebooks without their reference answers."""
    from .student import add_cli

    add_cli(subparsers)


def add_claims(subparsers) -> None:
    """``python -m helpers claims --seeds 0 1 2 [--full]``: every claim's margin over several seeds."""
    from .margins import add_cli

    add_cli(subparsers)


def add_grade(subparsers) -> None:
    """``python -m helpers grade NOTEBOOK``: run a student notebook, points per check and the score."""
    from .grading import add_cli

    add_cli(subparsers)


SUBCOMMANDS = [add_data, add_ocr, add_student, add_claims, add_grade]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description="Utilities of the course book "
                                     "'Neural Networks for Recognition'. BOOK_MODE=quick|full sets the budgets.")
    sub = parser.add_subparsers(dest="command", metavar="command")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
