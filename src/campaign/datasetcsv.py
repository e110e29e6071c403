"""Reading the dataset's CSV files by column name, each record with the line it starts on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from campaign.errors import LocatedError, Problems
from campaign.safety import shown


@dataclass
class Record:
    line: int
    values: dict[str, str]


def decode(path: Path, display: str) -> str:
    if not path.is_file():
        raise LocatedError(display, 0, "file not found")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LocatedError(
            display, line, f"cannot decode the file as UTF-8 ({exc.reason})"
        ) from None


def read_csv(
    path: Path,
    display: str,
    required: tuple[str, ...],
    problems: Problems,
    optional: tuple[str, ...] = (),
) -> Iterator[Record]:
    """Records by column name, each with the line it starts on; malformed ones are reported.

    An ``optional`` column the file lacks reads as blank in every record.
    """
    reader = csv.reader(io.StringIO(decode(path, display), newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        raise LocatedError(display, 1, f"unreadable header ({shown(str(exc))})") from None
    if not header:
        raise LocatedError(display, 1, "the file is empty: the first line must name the columns")
    missing = [name for name in required if name not in header]
    if missing:
        raise LocatedError(
            display,
            1,
            f"missing required column{'s' * (len(missing) > 1)}: {', '.join(missing)} "
            f"(needed: {', '.join(required)}; other columns, in any order, are ignored)",
        )
    present = required + tuple(name for name in optional if name in header)
    twice = sorted({name for name in present if header.count(name) > 1})
    if twice:
        raise LocatedError(
            display, 1, f"column{'s' * (len(twice) > 1)} {', '.join(map(shown, twice))} twice"
        )
    index = {name: header.index(name) for name in present}
    absent = dict.fromkeys((name for name in optional if name not in header), "")
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise LocatedError(display, start, f"unreadable record ({shown(str(exc))})") from None
        if not fields:
            continue
        if len(fields) != len(header):
            problems.warning(
                display,
                start,
                f"skipped: the record has {len(fields)} fields but the header has {len(header)}",
            )
            continue
        yield Record(start, {**{name: fields[i] for name, i in index.items()}, **absent})
