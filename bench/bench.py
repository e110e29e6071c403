"""Benchmark: campaign check/export against mailmerge 2.3.0 and a plain Jinja2 floor.

Run by `make bench`, which builds bench/.venv (this project editable, plus mailmerge) and runs
this file with that virtualenv's Python. Standard library only; every timed run is a whole
process started through measure.py, which reports wall time, CPU time and peak RSS.

    bench/.venv/bin/python bench/bench.py                     # sizes 5000 and 100000
    bench/.venv/bin/python bench/bench.py --sizes 5000 20000 --runs 3
    bench/.venv/bin/python bench/bench.py --profile 20000     # cProfile of the eml export
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LETTERS = REPO / "letters"
# The sample's quotes name their source as ../../shared/sources/... relative to letters/.
SOURCES = REPO.parent / "shared" / "sources"
TEMPLATES = BENCH / "templates"
MAILMERGE_TEMPLATE = TEMPLATES / "congress_mailmerge.txt"
MAILMERGE_CONFIG = TEMPLATES / "mailmerge_server.conf"
BIN = Path(sys.executable).parent
DATE = "2026-11-27T09:00:00-05:00"
COLUMNS = (
    "email",
    "audience",
    "title",
    "first_name",
    "last_name",
    "full_name",
    "state",
    "district",
    "office",
    "agency",
    "city_line",
)
DEFAULT_SIZES = (5_000, 100_000)
LARGE = 50_000  # from this size on, one run by default: mailmerge alone takes ~15 s a run

# -- synthetic recipients -------------------------------------------------------------------

FIRST_NAMES = (
    "Alex", "Dana", "Samuel", "Grace", "Thomas", "Marisol", "Kwame", "Zofia", "Jordan",
    "Patricia", "Raymond", "Maria", "James", "Linda", "Robert", "Susan", "Michael", "Karen",
    "David", "Emily", "Daniel", "Sarah", "Kevin", "Angela", "Brian", "Nicole", "Aisha",
    "Wei", "Priya", "Omar", "Hannah", "Luis", "Keiko", "Tamika", "Ethan", "Rosa",
)  # fmt: skip
# About one row in nine has a name with letters outside ASCII (RFC 2047 in the To header).
ACCENTED_FIRST = (
    "Inés", "José", "Zoë", "Björn", "Renée", "François", "Søren", "Łucja", "Ayşe", "Chloé",
    "Mónica", "Thảo",
)  # fmt: skip
ACCENTED_LAST = (
    "Núñez", "Müller", "García", "Łukasik", "Ødegaard", "Nguyễn", "Peña", "Çelik", "Gómez",
    "Sánchez", "Đặng",
)  # fmt: skip
ACCENTED_SHARE = 0.06  # of first names, and of last names
LAST_NAMES = (
    "Rivera", "Whitfield", "Okafor", "Lindqvist", "Baker", "De La Cruz", "Asante",
    "Kowalczyk", "Ellison", "Holloway", "Castellanos", "Smith", "Johnson", "Williams",
    "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker",
    "O'Connor", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams",
)  # fmt: skip
STATES = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY",
)  # fmt: skip
AT_LARGE = ("AK", "DE", "ND", "SD", "VT", "WY")
DELEGATES = ("DC", "GU", "VI", "AS", "MP")
SENATE_BUILDINGS = ("Hart", "Russell", "Dirksen")
HOUSE_BUILDINGS = ("Longworth", "Rayburn", "Cannon")
# title, agency, office, city line, email domain
OFFICIALS = (
    (
        "Secretary of Homeland Security",
        "U.S. Department of Homeland Security",
        "2707 Martin Luther King Jr Ave SE",
        "Washington, DC 20528",
        "dhs.example.com",
    ),
    (
        "Acting Director",
        "U.S. Immigration and Customs Enforcement",
        "500 12th St SW",
        "Washington, DC 20536",
        "ice.example.com",
    ),
    (
        "Inspector General",
        "Office of Inspector General, U.S. Department of Homeland Security",
        "245 Murray Lane SW",
        "Washington, DC 20528",
        "oig.example.com",
    ),
    (
        "Commissioner",
        "U.S. Customs and Border Protection",
        "1300 Pennsylvania Ave NW",
        "Washington, DC 20229",
        "cbp.example.com",
    ),
    (
        "Director",
        "U.S. Citizenship and Immigration Services",
        "5900 Capital Gateway Dr",
        "Camp Springs, MD 20746",
        "uscis.example.com",
    ),
)


def ascii_slug(text: str) -> str:
    """'Núñez' -> 'nunez', 'De La Cruz' -> 'de-la-cruz': email local parts must be ASCII."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = "".join(c if c.isalnum() else " " for c in folded.lower()).split()
    return "-".join(words) or "x"


def recipient_rows(count: int, seed: int) -> list[dict[str, str]]:
    """About 18% Senators, 74% Representatives (a few Delegates), 8% DHS officials.

    Emails are unique (the row number is in the local part) and on example.org/example.com.
    """
    rng = random.Random(seed)
    rows = []
    for index in range(1, count + 1):
        first = rng.choice(ACCENTED_FIRST if rng.random() < ACCENTED_SHARE else FIRST_NAMES)
        last = rng.choice(ACCENTED_LAST if rng.random() < ACCENTED_SHARE else LAST_NAMES)
        shape = rng.random()
        if shape < 0.6:
            full = f"{first} {last}"
        elif shape < 0.9:
            full = f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
        else:
            full = ""  # computed from first and last name
        row = dict.fromkeys(COLUMNS, "")
        row.update(first_name=first, last_name=last, full_name=full)
        local = f"{ascii_slug(first)}.{ascii_slug(last)}.{index}"
        kind = rng.random()
        if kind < 0.18:
            building = rng.choice(SENATE_BUILDINGS)
            row.update(
                audience="congress",
                title="Senator",
                state=rng.choice(STATES),
                office=f"{rng.randint(100, 799)} {building} Senate Office Building",
                email=f"{local}@senate.example.org",
            )
        elif kind < 0.92:
            building = rng.choice(HOUSE_BUILDINGS)
            if rng.random() < 0.02:
                title, state, district = "Delegate", rng.choice(DELEGATES), "0"
            else:
                state = rng.choice(STATES)
                district = "0" if state in AT_LARGE else str(rng.randint(1, 38))
                title = "Representative"
            row.update(
                audience="congress",
                title=title,
                state=state,
                district=district,
                office=f"{rng.randint(1000, 2799)} {building} House Office Building",
                email=f"{local}@house.example.org",
            )
        else:
            title, agency, office, city_line, domain = rng.choice(OFFICIALS)
            row.update(
                audience="dhs",
                title=title,
                agency=agency,
                office=office,
                city_line=city_line,
                email=f"{local}@{domain}",
            )
        rows.append(row)
    return rows


def make_campaign(root: Path, count: int, seed: int) -> Path:
    """root/campaign with a copy of letters/ and `count` recipients; returns the folder.

    The copied sources sit where the sample's quotes look for them, so `check` verifies the
    quotes exactly as it does in the repository.
    """
    campaign = root / "campaign"
    shutil.copytree(LETTERS, campaign / "letters")
    if SOURCES.is_dir():
        shutil.copytree(SOURCES, root / "shared" / "sources")
    with (campaign / "recipients.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(recipient_rows(count, seed))
    return campaign


# -- the tools ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    ours: bool
    output: str  # "files": one file per letter in {out}; "file": {out}/letters.csv;
    # "mbox": {out}/letters.mbox; "none"
    argv: tuple[str, ...]  # with {campaign}, {csv} and {out} to fill in
    disk: bool = False  # {out} in --disk-tmpdir (a folder on a disk) instead of --tmpdir


def tools(with_jobs: bool) -> list[Tool]:
    campaign = str(BIN / "campaign")
    common = ("--campaign", "{campaign}")
    export = (campaign, "export", *common, "--date", DATE, "--out")
    found = [
        Tool("campaign check", True, "none", (campaign, "check", *common)),
        Tool("campaign export eml", True, "files", (*export, "{out}", "--format", "eml")),
        Tool(
            "campaign export csv",
            True,
            "file",
            (*export, "{out}/letters.csv", "--format", "csv"),
        ),
    ]
    mbox = (*export, "{out}/letters.mbox", "--format", "mbox")
    found += [
        Tool("campaign export mbox", True, "mbox", mbox),
        Tool("campaign export mbox (disk)", True, "mbox", mbox, disk=True),
    ]
    if with_jobs:
        found.append(
            Tool(
                "campaign export eml --jobs 2",
                True,
                "files",
                (*export, "{out}", "--format", "eml", "--jobs", "2"),
            )
        )
    found += [
        Tool(
            "mailmerge 2.3.0",
            False,
            "none",
            (
                str(BIN / "mailmerge"),
                "--dry-run",
                "--no-limit",
                "--output-format",
                "raw",
                "--template",
                str(MAILMERGE_TEMPLATE),
                "--database",
                "{csv}",
                "--config",
                str(MAILMERGE_CONFIG),
            ),
        ),
        Tool(
            "floor (jinja2 loop)",
            False,
            "files",
            (sys.executable, str(BENCH / "floor.py"), str(MAILMERGE_TEMPLATE), "{csv}", "{out}"),
        ),
    ]
    return found


def default_tmpdir() -> str:
    """/dev/shm (RAM) where there is one, else the system temp folder."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return str(shm)
    return tempfile.gettempdir()


def compile_sources() -> None:
    """Byte-compile this project's modules before timing anything.

    pip compiled mailmerge's modules when it installed them; an editable install leaves ours
    as source, and with PYTHONDONTWRITEBYTECODE set (as on some machines) every run would
    compile them again: about 40 ms a process that has nothing to do with the letters.
    """
    import compileall

    if not compileall.compile_dir(REPO / "src", quiet=1):
        sys.exit("could not byte-compile src/")


def export_has_jobs() -> bool:
    """Whether `campaign export --help` offers --jobs (another change may add it)."""
    shown = subprocess.run(
        [str(BIN / "campaign"), "export", "--help"], capture_output=True, text=True, check=True
    )
    return "--jobs" in shown.stdout


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Measured:
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    maxrss_kib: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.maxrss_kib) / 1024


def count_messages(path: Path) -> int:
    """Messages in a mbox file of ours: a From line starts the file and follows each blank line."""
    count, tail = 0, b""
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            data = tail + block
            count += data.count(b"\n\nFrom ")
            tail = data[-6:]  # shorter than a match: none is counted twice
    with path.open("rb") as handle:
        return count + handle.read(5).startswith(b"From ")


def run_once(
    tool: Tool, campaign: Path, work: Path, count: int, disk: Path | None = None
) -> dict[str, float]:
    """One timed run in a fresh output folder; checks the run did its work."""
    out = (disk if tool.disk and disk is not None else work) / "out"
    shutil.rmtree(out, ignore_errors=True)
    if tool.output in ("file", "mbox"):
        out.mkdir()
    argv = [
        a.format(campaign=campaign, csv=campaign / "recipients.csv", out=out) for a in tool.argv
    ]
    # mailmerge prints every message: to /dev/null, as a dry run's output would go.
    stdout = work / "stdout" if tool.ours else Path(os.devnull)
    stderr = work / "stderr"
    report = subprocess.run(
        [sys.executable, str(BENCH / "measure.py"), str(stdout), str(stderr), *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
    )
    result: dict[str, float] = json.loads(report.stdout)
    if result["returncode"] != 0:
        said = [p.read_text(errors="replace") for p in (stdout, stderr) if p != Path(os.devnull)]
        tail = "\n".join(said)[-2000:]
        sys.exit(f"{shlex.join(argv)} exited {result['returncode']}:\n{tail}")
    if tool.output == "files":
        written = sum(1 for name in os.listdir(out) if not name.startswith("."))
        if written != count:
            sys.exit(f"{tool.name} wrote {written} files, expected {count}")
    elif tool.output == "file" and not (out / "letters.csv").is_file():
        sys.exit(f"{tool.name} wrote no {out / 'letters.csv'}")
    elif tool.output == "mbox":
        written = count_messages(out / "letters.mbox")
        if written != count:
            sys.exit(f"{tool.name} wrote {written} messages, expected {count}")
    shutil.rmtree(out, ignore_errors=True)
    return result


def bench_size(
    count: int,
    runs: int,
    chosen: Sequence[Tool],
    seed: int,
    keep: bool,
    tmpdir: str | None,
    disk_tmpdir: str | None = None,
) -> dict[str, Measured]:
    root = Path(tempfile.mkdtemp(prefix=f"campaign-bench-{count}-", dir=tmpdir))
    disk = Path(tempfile.mkdtemp(prefix=f"campaign-bench-{count}-", dir=disk_tmpdir))
    try:
        campaign = make_campaign(root, count, seed)
        results = {tool.name: Measured() for tool in chosen}
        for run in range(1, runs + 1):
            # Tools take turns within a run, so a slow spell of the machine hits them all.
            for tool in chosen:
                report = run_once(tool, campaign, root, count, disk)
                m = results[tool.name]
                m.seconds.append(report["seconds"])
                m.cpu_seconds.append(report["cpu_seconds"])
                m.maxrss_kib.append(int(report["maxrss_kib"]))
                print(
                    f"  {count:>7} run {run}/{runs}  {tool.name:<30} "
                    f"{report['seconds']:7.2f} s  {report['maxrss_kib'] / 1024:6.1f} MB",
                    file=sys.stderr,
                    flush=True,
                )
        return results
    finally:
        if keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(disk, ignore_errors=True)


# -- reporting ------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def print_report(
    sizes: Sequence[int],
    runs_for: dict[int, int],
    chosen: Sequence[Tool],
    results: dict[int, dict[str, Measured]],
    tmpdir: str | None,
    started: float,
    disk_tmpdir: str | None = None,
) -> None:
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print()
    print(f"machine: {nproc} CPUs, {cpu_model()}, Python {platform.python_version()}")
    print(
        f"versions: campaign {version_of('campaign')}, mailmerge {version_of('mailmerge')}, "
        f"jinja2 {version_of('jinja2')}, email-validator {version_of('email-validator')}"
    )
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    print(f"tree: {head.stdout.strip() or 'unknown'} plus any uncommitted changes")
    where = tempfile.gettempdir() if tmpdir is None else tmpdir
    kind = "RAM" if where.startswith("/dev/shm") else "see --tmpdir"
    print(f"temp and output folders in: {where} ({kind})")
    if disk_tmpdir is not None and any(t.disk for t in chosen):
        print(f"output of the tools marked (disk) in: {disk_tmpdir}")
    print(
        "letters/s = recipients / median wall time of the whole process (startup included); "
        "x mailmerge, x floor = our letters/s over theirs"
    )
    header = (
        f"{'recipients':>10}  {'tool':<30} {'runs':>4} {'median s':>9} {'letters/s':>10} "
        f"{'CPU s':>7} {'peak RSS MB':>11} {'x mailmerge':>11} {'x floor':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for count in sizes:
        by_tool = results[count]
        rate = {name: count / m.median for name, m in by_tool.items()}
        mailmerge = rate.get("mailmerge 2.3.0")
        floor = rate.get("floor (jinja2 loop)")
        for tool in chosen:
            m = by_tool[tool.name]
            vs_mm = f"{rate[tool.name] / mailmerge:.2f}" if tool.ours and mailmerge else ""
            vs_floor = f"{rate[tool.name] / floor:.2f}" if tool.ours and floor else ""
            print(
                f"{count:>10,}  {tool.name:<30} {runs_for[count]:>4} {m.median:>9.2f} "
                f"{rate[tool.name]:>10,.0f} {statistics.median(m.cpu_seconds):>7.2f} "
                f"{m.peak_mb:>11.1f} {vs_mm:>11} {vs_floor:>8}"
            )
        print()
    for name in ("campaign export eml", "campaign export mbox", "campaign export mbox (disk)"):
        if len(sizes) < 2 or name not in results[min(sizes)]:
            continue
        small, large = min(sizes), max(sizes)
        low, high = results[small][name].peak_mb, results[large][name].peak_mb
        per_k = (high - low) * 1024 / ((large - small) / 1000)
        print(
            f"RSS growth, {name}: {low:.1f} MB at {small:,} -> {high:.1f} MB at {large:,} "
            f"(+{high - low:.1f} MB, {per_k:.1f} KiB per 1,000 recipients)"
        )
    print("timed commands ({campaign}: a temp folder with a copy of letters/ and the CSV):")
    for tool in chosen:
        print(f"  {tool.name}: {shlex.join(tool.argv)}")
    print(f"total bench time: {time.perf_counter() - started:.0f} s")


def profile(count: int, seed: int, top: int, tmpdir: str | None) -> None:
    """cProfile of one eml export, sorted by cumulative time; prints the first `top` entries."""
    root = Path(tempfile.mkdtemp(prefix=f"campaign-profile-{count}-", dir=tmpdir))
    try:
        campaign = make_campaign(root, count, seed)
        argv = [
            sys.executable,
            "-m",
            "cProfile",
            "-s",
            "cumtime",
            "-m",
            "campaign",
            "export",
            "--campaign",
            str(campaign),
            "--format",
            "eml",
            "--date",
            DATE,
            "--out",
            str(root / "out"),
        ]
        shown = subprocess.run(argv, capture_output=True, text=True, check=True)
        lines = shown.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        print(f"$ {shlex.join(argv)}")
        print(shown.stderr.strip())
        print("\n".join(line for line in lines[: start + 1 + top] if line.strip()))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        metavar="N",
        help="recipient counts (default: %(default)s)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help=f"runs per tool and size (default: 3, or 1 from {LARGE:,} recipients)",
    )
    parser.add_argument("--seed", type=int, default=287, help="seed of the synthetic recipients")
    parser.add_argument("--keep", action="store_true", help="keep the temp campaign folders")
    parser.add_argument(
        "--tmpdir",
        default=default_tmpdir(),
        help="where the temp campaign and output folders go (default: %(default)s). In RAM "
        "(/dev/shm) the letters are written as mailmerge's go to /dev/null, without the disk; "
        "give a folder on a disk to measure it too",
    )
    parser.add_argument(
        "--disk-tmpdir",
        default="/var/tmp",
        help="where the output of the tools marked (disk) goes: a folder on a disk "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="time only the tools whose name starts with one of these (e.g. 'campaign export "
        "mbox' mailmerge)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead of timing, print the cProfile of an eml export of N recipients",
    )
    parser.add_argument("--top", type=int, default=25, help="profile entries shown")
    args = parser.parse_args(argv)
    for program in ("campaign", "mailmerge"):
        if not (BIN / program).exists():
            sys.exit(f"{BIN / program} is missing: run `make bench`, which installs it")
    if args.profile:
        profile(args.profile, args.seed, args.top, args.tmpdir)
        return 0
    compile_sources()
    started = time.perf_counter()
    sizes = sorted(set(args.sizes))
    runs_for = {n: args.runs or (3 if n < LARGE else 1) for n in sizes}
    chosen = tools(export_has_jobs())
    if args.only:
        chosen = [t for t in chosen if t.name.startswith(tuple(args.only))]
    results = {
        n: bench_size(n, runs_for[n], chosen, args.seed, args.keep, args.tmpdir, args.disk_tmpdir)
        for n in sizes
    }
    print_report(sizes, runs_for, chosen, results, args.tmpdir, started, args.disk_tmpdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
