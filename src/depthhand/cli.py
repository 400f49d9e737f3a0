"""The ``depthhand`` command: one entry point, one verb per module in :mod:`depthhand.commands`.

Each verb module defines ``NAME`` (the verb), ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Verb modules import only the standard library at module level; the work happens in library
functions they import inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import depthhand
import depthhand.commands


def _verb_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(depthhand.commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"depthhand.commands.{info.name}")
        if hasattr(module, "NAME"):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every verb."""
    parser = argparse.ArgumentParser(
        prog="depthhand", description="Real-time 3D hand pose estimation from depth cameras."
    )
    parser.add_argument("--version", action="version", version=f"depthhand {depthhand.__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for module in _verb_modules():
        verb = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(verb)
        verb.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``depthhand`` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    from depthhand.capture.base import MissingExtraError, SourceError

    try:
        return int(run(args))
    except (ValueError, OSError, MissingExtraError, SourceError) as exc:
        print(f"depthhand {args.verb}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
