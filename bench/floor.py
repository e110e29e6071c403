"""The floor: render the congress letter with a plain Jinja2 Environment, one file per row.

No checks, no cite/quote helpers, no MIME: what any CSV + Jinja2 + write loop must spend.

Usage: floor.py TEMPLATE DATABASE_CSV OUT_FOLDER
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import jinja2


def main(argv: list[str]) -> int:
    template_path, database, out = (Path(a) for a in argv)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_path.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    template = env.get_template(template_path.name)
    out.mkdir(parents=True, exist_ok=True)
    with database.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle, strict=True), 1):
            data = template.render(row).encode("utf-8")
            with open(out / f"{number:06d}.txt", "wb") as target:
                target.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
