"""The ``depthhand`` command: one entry point, one verb per module in :mod:`depthhand.commands`.

Each verb module defines ``NAME`` (the verb), ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Verb modules import only the standard library at module level; the work happens in library
functions they import inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import depthhand
import depthhand.commands

RUNTIME_VERBS = ("predict", "run", "serve", "demo")
"""Verbs that run the networks frame by frame: numpy's BLAS gets one thread there (see :func:`main`)."""


def _verb_modules(only: str | None = None) -> list[ModuleType]:
    """The verb modules; with ``only``, just that verb's (when there is one), so as not to import every verb."""
    if only is not None and only.replace("-", "_").isidentifier() and not only.startswith("_"):
        name = f"depthhand.commands.{only.replace('-', '_')}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # not a verb (argparse names the choices); a missing extra is raised
            if exc.name != name:
                raise
            module = None
        if module is not None and getattr(module, "NAME", None) == only:
            return [module]
    import pkgutil

    modules = []
    for info in sorted(pkgutil.iter_modules(depthhand.commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"depthhand.commands.{info.name}")
        if hasattr(module, "NAME"):
            modules.append(module)
    return modules


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every verb, or only ``verb`` when it names one (what :func:`main` parses with)."""
    parser = argparse.ArgumentParser(
        prog="depthhand", description="Real-time 3D hand pose estimation from depth cameras."
    )
    parser.add_argument("--version", action="version", version=f"depthhand {depthhand.__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for module in _verb_modules(verb):
        verb_parser = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(verb_parser)
        verb_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``depthhand`` command; returns the process exit code.

    Only the named verb's module is imported (a cold start of ``depthhand predict`` does not load the server's
    options, say). For :data:`RUNTIME_VERBS`, numpy's BLAS (OpenBLAS) is limited to one thread unless
    ``OPENBLAS_NUM_THREADS`` is set or numpy is already loaded: the pipeline's matrices are tiny, and OpenBLAS's
    idle worker threads cost every start (they are made when numpy loads) and exit.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = argv[0] if argv and not argv[0].startswith("-") else None
    if verb in RUNTIME_VERBS and "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser(verb)
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


QUICK_EXIT_VERBS = ("predict",)
"""Verbs after which :func:`entry` ends the process without the interpreter's teardown (see there)."""


def entry() -> None:
    """The ``depthhand`` console command (and ``python -m depthhand.cli``): :func:`main`, then exit with its code.

    After a verb of :data:`QUICK_EXIT_VERBS` has returned (its outputs written, atomically, and its pipelines and
    threads closed) the process flushes stdout, stderr and logging and ends with ``os._exit``: tearing down the
    interpreter (a last garbage collection, every module, ONNX Runtime's and OpenCV's globals) takes 30-40 ms, as
    long as the predict of one file itself (issue 20's cold-start budget is 0.25 s for the whole process). Other
    verbs, and :func:`main` called from Python, exit normally.
    """
    code = main()
    if len(sys.argv) > 1 and sys.argv[1] in QUICK_EXIT_VERBS:
        try:
            if "logging" in sys.modules:
                sys.modules["logging"].shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # e.g. stdout closed by the reader: leave it to the normal exit to report
            sys.exit(code)
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
