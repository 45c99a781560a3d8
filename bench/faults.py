"""Fault injection, longer: tests/test_fault_injection.py with 200 SIGKILLs (or --runs N).

    .venv/bin/python bench/faults.py --runs 200

Each run starts `news-monitor once` on a growing loopback feed with a webhook and an
SMTP channel and kills it at a random point of its cycle (polling, matching, placing,
delivering) or inside the webhook receiver. Prints the runs, kills, stories, digests
and repeats per channel, the time, and the verdict (nothing lost, nothing sent under
two ids, every delivery sent, integrity_check ok).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="killed runs (default 200)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        summary = Path(folder) / "summary.json"
        result = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
                "tests/test_fault_injection.py",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "NEWS_MONITOR_FAULT_RUNS": str(args.runs),
                "NEWS_MONITOR_FAULT_SUMMARY": str(summary),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        counts = json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else {}
    elapsed = time.monotonic() - started
    print(f"time: {elapsed:.0f} s ({elapsed / max(args.runs, 1):.2f} s per run)")
    for key, value in counts.items():
        print(f"  {key:<18} {value}")
    if result.returncode == 0:
        print("every story delivered on both channels, none under two ids; integrity ok")
    else:
        print("FAILED:\n" + result.stdout[-3000:])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
