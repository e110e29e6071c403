"""How fast `campaign preview --serve` answers with many recipients, over real HTTP.

    .venv/bin/python bench/serve_index.py            # 100,000 recipients
    .venv/bin/python bench/serve_index.py --count 20000 --runs 5

Starts the server in its own process on a free port, for the benchmark's synthetic campaign
(the rows `bench/bench.py` generates), and times: the index's first page right after the
server starts (the rows are still being checked), the first page again after the recipients
file changed (a new snapshot, checked from the start), the time until every row was checked,
a filter that has to look at every row, and the letter of the last row.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import make_campaign  # the benchmark's own generator


def get(port: int, path: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return time.perf_counter() - start, response.status, body


def wait_complete(port: int) -> float:
    start = time.perf_counter()
    while not json.loads(get(port, "/_version")[2])["complete"]:
        time.sleep(0.02)
    return time.perf_counter() - start


def one_run(campaign: Path, count: int) -> dict[str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "campaign", "preview", "--serve", "--port", "0"],
        cwd=campaign,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        figures = {"server up": time.perf_counter() - started}
        seconds, status, body = get(port, "/")
        assert status == 200 and body.count(b'<tr class="row"') == 50, body[-400:]
        figures["first page after start"] = seconds
        figures["all rows checked after start"] = wait_complete(port) + seconds
        recipients = campaign / "recipients.csv"
        os.utime(recipients)  # a changed file: the next request checks the rows afresh
        seconds, status, body = get(port, "/")
        assert status == 200 and body.count(b'<tr class="row"') == 50
        figures["first page after a file changed"] = seconds
        wait_complete(port)
        figures["first page, rows checked"] = get(port, "/")[0]
        figures["filter over every row (status=error)"] = get(port, "/?status=error")[0]
        figures["search over every row"] = get(port, "/?q=zzz-no-such-name")[0]
        seconds, status, _ = get(port, f"/letter/{count}")
        assert status == 200
        figures[f"letter of row {count:,}"] = seconds
        status_file = Path(f"/proc/{process.pid}/status")
        if status_file.is_file():  # Linux: the server's peak resident memory, in MB
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    figures["peak RSS of the server (MB)"] = int(line.split()[1]) / 1024
        return figures
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campaign-serve-bench-") as tmp:
        campaign = make_campaign(Path(tmp), args.count, args.seed)
        runs = [one_run(campaign, args.count) for _ in range(args.runs)]

    def median(name: str) -> float:
        return statistics.median(r[name] for r in runs)

    print(f"{args.count:,} recipients, median of {args.runs} runs (seconds unless named)")
    for name in runs[0]:
        print(f"  {name:<40} {median(name):8.3f}")


if __name__ == "__main__":
    main()
