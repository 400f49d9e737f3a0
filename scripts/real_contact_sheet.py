"""Contact sheet and figures of the label-free real-frame checks (documentation script).

Nothing imports it.

Usage: python scripts/real_contact_sheet.py [--sequence sr305_desk] [--out docs/real/sr305_desk_contact_sheet.png]
[--json OUT]

Runs the default pipeline (as ``depthhand predict``) and every check of ``depthhand bench real.<sequence>.*`` on the
sequence (:mod:`depthhand.evaluate.real_sequence`), draws one tile per frame (:mod:`depthhand.evaluate.real_sheet`)
and prints the figures as JSON (per-bone details included).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    """Run the checks, write the sheet, print the figures."""
    from depthhand.evaluate.real_sequence import REAL_SEQUENCES, run_sequence, summarise
    from depthhand.evaluate.real_sheet import write_contact_sheet

    parser = argparse.ArgumentParser()
    parser.add_argument("--sequence", default="sr305_desk", choices=sorted(REAL_SEQUENCES))
    parser.add_argument("--out", type=Path, help="PNG (default docs/real/<sequence>_contact_sheet.png)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    checks = run_sequence(REAL_SEQUENCES[args.sequence])
    figures = summarise(checks)
    out = args.out or Path("docs/real") / f"{args.sequence}_contact_sheet.png"
    write_contact_sheet(out, checks, figures)
    text = json.dumps(figures, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    print(f"contact sheet -> {out}")


if __name__ == "__main__":
    main()
