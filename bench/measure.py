"""Run one command and print its wall time, CPU time and peak RSS as one JSON line.

bench.py starts this helper afresh for every timed run: RUSAGE_CHILDREN's ru_maxrss is the
peak of any child ever waited for, so only a process whose one child is the measured command
reports that command's peak and nothing else's.

Usage: measure.py STDOUT_FILE STDERR_FILE COMMAND [ARG ...]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    stdout_path, stderr_path, *command = argv
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        start = time.perf_counter()
        returncode = subprocess.call(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        "returncode": returncode,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "maxrss_kib": usage.ru_maxrss,  # Linux reports kibibytes
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
