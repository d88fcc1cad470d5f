"""Benchmark: checking a field's pattern against hostile answers, RE2 (what Casework uses) against Python's
backtracking `re` (what it used before), in the same run.

    .venv/bin/python bench/patterns.py [--max-a 24]

For each catastrophic shape, `re` is timed on "a" * n + "!" for growing n (each step roughly doubles)
and stopped once one check takes over 2 s; RE2 is timed on n = 34 and on a 100,000-character answer.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forms.patterns import full_match

SHAPES = ["((a+))+$", "(a|a)+$", "(a+)+$", "(a|aa)+$", "(.*a){12}$"]


def timed(check: object, value: str) -> float:
    started = time.perf_counter()
    check(value)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-a", type=int, default=26)
    args = parser.parse_args()
    print(f"{'pattern':14} {'re (baseline): n -> seconds':60} RE2 n=34    RE2 n=100000")
    for shape in SHAPES:
        compiled = re.compile(shape)
        steps = []
        for n in range(14, args.max_a + 1, 2):
            took = timed(lambda v, c=compiled: c.fullmatch(v), "a" * n + "!")
            steps.append(f"{n}:{took:.3f}")
            if took > 2:
                break
        re2_34 = timed(lambda v, s=shape: full_match(s, v), "a" * 34 + "!")
        re2_big = timed(lambda v, s=shape: full_match(s, v), "a" * 100_000 + "!")
        print(f"{shape:14} {' '.join(steps):60} {re2_34 * 1000:7.3f} ms {re2_big * 1000:9.3f} ms")


if __name__ == "__main__":
    main()
