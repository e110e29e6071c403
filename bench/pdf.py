"""Benchmark: export --format pdf, letters per second and the 535 members of Congress.

Run by `make bench-pdf` with the project's own virtualenv (.venv, which has the pdf extra).
Every timed run is a whole `campaign export` process started through measure.py (wall time,
CPU time, peak RSS). Synthetic recipients with a fixed seed: Senators and Representatives,
the sample's Congress letter, and the sign-on letter of examples/signon with 200 signatories.

    .venv/bin/python bench/pdf.py                    # letters/s at 60 letters, and 535
    .venv/bin/python bench/pdf.py --sizes 40 --runs 1 --no-535
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BIN = Path(sys.executable).parent
DATE = "2026-11-27T09:00:00-05:00"
HEADER = (
    "email,audience,title,first_name,last_name,full_name,state,district,office,agency,city_line"
)
STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]
FIRST = ("Alex", "Dana", "Inés", "Grace", "Kwame", "Zofia", "Marisol", "Thomas", "Priya", "Yusuf")
LAST = ("Rivera", "Whitfield", "Núñez", "Lindqvist", "Asante", "Kowalczyk", "Baker", "Okafor")
WORDS = [
    "Amber",
    "Birch",
    "Cedar",
    "Dove",
    "Ember",
    "Fern",
    "Garnet",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lantern",
    "Marigold",
    "Nettle",
    "Oriole",
    "Pine",
    "Quill",
    "Rowan",
    "Sage",
    "Thistle",
    "Umber",
    "Willow",
    "Yarrow",
    "Zephyr",
]
KINDS = ("Alliance", "Collective", "Council", "Fund", "League", "Network", "Project", "Society")


def recipients(count: int, audience: str, rng: random.Random) -> str:
    """Senators first (two a state), then Representatives: 100 + 435 at 535."""
    rows = [HEADER]
    for n in range(count):
        first, last = rng.choice(FIRST), f"{rng.choice(LAST)}{n}"
        state = STATES[(n // 2) % 50]
        if n < 100:
            title, district, office = "Senator", "", f"{300 + n} Hart Senate Office Building"
        else:
            title, district = "Representative", str(1 + n % 12)
            office = f"{1000 + n} Longworth House Office Building"
        email = f"member{n}@congress.example.org"
        rows.append(
            f"{email},{audience},{title},{first},{last},{first} {last},{state},{district},"
            f"{office},,"
        )
    return "\n".join(rows) + "\n"


def signatories(count: int, rng: random.Random) -> str:
    rows = ["name,level,city,state,title,affiliation"]
    for n in range(count):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)} {n + 1:03d}"
        level = ("national", "state", "local")[n % 3]
        state = "" if level == "national" else rng.choice(STATES)
        city = "Springfield" if level == "local" else ""
        rows.append(f"{name},{level},{city},{state},,")
    return "\n".join(rows) + "\n"


def campaign(root: Path, kind: str, count: int) -> Path:
    rng = random.Random(20261127)
    folder = root / f"{kind}-{count}"
    if kind == "sample":
        shutil.copytree(REPO / "letters", folder / "letters")
        audience = "congress"
    else:
        shutil.copytree(REPO / "examples" / "signon" / "letters", folder / "letters")
        (folder / "letters" / "signatories.csv").write_text(signatories(200, rng), "utf-8")
        audience = "congress-signon"
    quotes = folder / "letters" / "quotes.toml"  # the source article is not needed to time
    lines = quotes.read_text(encoding="utf-8").splitlines()
    quotes.write_text("\n".join(x for x in lines if not x.startswith("source_file")), "utf-8")
    (folder / "recipients.csv").write_text(recipients(count, audience, rng), "utf-8")
    return folder


def measure(folder: Path, jobs: int, out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    command = [
        str(BIN / "campaign"), "export", "--campaign", str(folder), "--format", "pdf",
        "--out", str(out), "--date", DATE, "--jobs", str(jobs),
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(BENCH / "measure.py"), os.devnull, str(out) + ".err", *command],
        check=True,
        capture_output=True,
        text=True,
    )
    report: dict[str, float] = json.loads(result.stdout)
    if report["returncode"] != 0:
        raise SystemExit(Path(str(out) + ".err").read_text(encoding="utf-8"))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-535", dest="full", action="store_false")
    parser.add_argument("--tmpdir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    args = parser.parse_args()
    # CPU seconds too: on a shared machine the wall time depends on what else runs.
    print(
        f"{'letter':<24}{'letters':>8}{'jobs':>6}{'seconds':>9}{'letters/s':>11}"
        f"{'CPU s':>8}{'letters/CPU s':>15}{'peak RSS':>10}"
    )
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        root = Path(tmp)
        plan = [
            (kind, n, jobs) for n in args.sizes for kind in ("sample", "signon") for jobs in (1, 2)
        ]
        if args.full:
            plan.append(("sample", 535, 2))
        for kind, count, jobs in plan:
            folder = campaign(root, kind, count)
            runs = [measure(folder, jobs, root / "out") for _ in range(args.runs)]
            seconds = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu_seconds"] for r in runs)
            rss = max(r["maxrss_kib"] for r in runs) / 1024
            label = "Congress letter" if kind == "sample" else "sign-on, 200 signers"
            print(
                f"{label:<24}{count:>8}{jobs:>6}{seconds:>9.1f}{count / seconds:>11.1f}"
                f"{cpu:>8.1f}{count / cpu:>15.1f}{rss:>8.0f} MB",
                flush=True,
            )
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
