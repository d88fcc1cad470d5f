"""Long fuzzing run: the suite's fuzzer (tests/app/test_fuzz.py) with many more examples, on both backends.

    .venv/bin/python bench/fuzz.py [--examples 1000] [--backend sqlite|postgresql|both]

Each of the five fuzzers (filing with every field type of the four packs, the case routes with random
bodies, ids and If-Match headers, list and page queries, uploads, the page wizards) runs --examples
examples; any 5xx fails the run and Hypothesis prints the shortest input that causes it. The suite itself
runs 12 examples per fuzzer; the figure printed first (the same fuzzers at the suite's size, in this run)
is the baseline the long run is compared with.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(examples: int, backend: str) -> tuple[bool, float]:
    env = {**os.environ, "CASEWORK_FUZZ_EXAMPLES": str(examples)}
    selector = "fuzzing" if backend == "both" else f"fuzzing and {backend}"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/app/test_fuzz.py", "-q", "-p", "no:cacheprovider",
                           "-k", selector, "--timeout", "0"], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-6000:], done.stderr[-2000:], sep="\n")
    return done.returncode == 0, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    failed = False
    for backend in backends:
        for examples in (12, args.examples):
            ok, elapsed = run(examples, backend)
            requests = examples * 5
            print(f"{backend:10} {examples:6} examples per fuzzer (~{requests} requests): "
                  f"{'no 5xx' if ok else '5xx FOUND'} in {elapsed:7.1f} s")
            failed = failed or not ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
