"""Print a Markdown table of a ``depthhand bench --json`` file (for BENCHMARKS.md; nothing imports it).

Usage: python scripts/benchmarks_table.py RESULTS.json
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    """Print the machine, the command and one table row per benchmark."""
    with open(sys.argv[1], encoding="utf-8") as fh:
        data = json.load(fh)
    m = data["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']}.  ")
    print(f"Command: `{data['command']}`\n")
    print("| benchmark | value | unit | n | details |")
    print("|---|---|---|---|---|")
    for r in data["results"]:
        det = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in r["details"].items())
        print(f"| `{r['name']}` | **{r['value']:.4g}** | {r['unit']} | {r['samples']} | {det} |")


if __name__ == "__main__":
    main()
