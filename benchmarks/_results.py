"""Each benchmark owns one section of ``benchmarks/RESULTS.md`` and rewrites only that one.

A section runs from ``<!-- begin NAME -->`` to ``<!-- end NAME -->``; a benchmark run
replaces its own section (or appends it) and leaves the others as they were.
"""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(name: str, text: str, path: Path = RESULTS) -> None:
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.strip()}\n{end}\n"
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip() + ("\n\n" if current.strip() else "") + block
    path.write_text(updated)
