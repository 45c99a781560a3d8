"""Crash safety, longer: the SIGKILL scenario of tests/test_crash.py with many more kills.

    .venv/bin/python bench/crash.py --runs 300

Each run queues a digest, starts `news-monitor once` and SIGKILLs it mid-send or at a
random moment; at the end every digest must have arrived once or twice with one id and
the SQLite file must pass integrity_check. Prints the runs, the time, and the verdict.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="kills (default 300)")
    args = parser.parse_args()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_crash.py"],
        cwd=ROOT,
        env={**os.environ, "NEWS_MONITOR_CRASH_RUNS": str(args.runs)},
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    verdict = (
        "every digest arrived 1-2 times, same id; integrity ok"
        if result.returncode == 0
        else "FAILED:\n" + result.stdout[-3000:]
    )
    print(f"runs: {args.runs}  time: {elapsed:.0f} s  ({elapsed / args.runs:.2f} s per kill)")
    print(verdict)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
