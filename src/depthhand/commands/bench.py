"""``depthhand bench``: run named benchmarks, print a table, write JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "bench"
HELP = "Run named benchmarks (see --list); prints a table and optionally writes JSON."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("names", nargs="*", help="benchmark names or group prefixes (default: all)")
    parser.add_argument("--list", action="store_true", help="list the available benchmarks and exit")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from depthhand.bench.core import available, format_table, machine, run_benchmarks, write_json

    if args.list:
        for name, desc in available().items():
            print(f"{name:28s} {desc}")
        return 0
    results = run_benchmarks(list(args.names), quick=args.quick)
    m = machine()
    print(f"machine: {m['cpu']} ({m['cores']} cores), Python {m['python']}")
    print(format_table(results))
    if args.json:
        write_json(results, args.json, "depthhand " + " ".join(sys.argv[1:]))
    return 0
