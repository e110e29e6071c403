"""Hostile input, 10: templates that ask one letter for too much time, memory or output.

Each is refused at the template line that went over, for the row being rendered, by check
and by export alike: no traceback, no hang, nothing written.
"""

from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys

import pytest
from conftest import DATE, ROOT, Campaign, listing
from hostile_kit import csv_text, mini, row

WIDTH = "more than 1,000,000, the most a letter allows"
LONG = "would be longer than 1,000,000 characters"
STEPS = "the template takes more than 250,000 steps"
MADE = "the template makes more than 10,000,000 characters of text"
DIGITS = "a letter allows numbers of up to about 3,000"

# (template code, what the error says): each makes far more than a letter from very little.
BOMBS = [
    # numbers
    ("{{ 10**5000 }}", DIGITS),
    ("{{ 2**100000 }}", DIGITS),
    ("{% set n = 10**2000 %}{{ n * n }}", DIGITS),
    # repetition and joining
    ("{{ 'x' * 2**40 }}", LONG),
    ("{{ 2**40 * 'x' }}", LONG),
    ("{{ ['x'] * 2**40 }}", LONG),
    ("{{ [('x' * 100000)] * 100000 }}", LONG),
    ("{{ (['x' * 100000] * 1000)|join }}", LONG),
    ("{{ ''.join(['x' * 100000] * 100000) }}", LONG),
    ("{{ ('ab' * 500000)|list|join('x' * 1000) }}", LONG),
    ("{{ ('x' * 100000).replace('x', 'x' * 100000) }}", LONG),
    ("{{ ('x' * 100000)|replace('x', 'x' * 100000) }}", LONG),
    ("{{ 'x'.ljust(999999).ljust(999999) * 2 }}", LONG),
    (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s|length }}",
        LONG,
    ),
    (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}{{ ns.s|length }}",
        LONG,
    ),
    ("{{ dict(a='x' * 1000000, b='y' * 1000000) }}", LONG),
    # widths and padding
    ('{{ "%999999999s" % "x" }}', WIDTH),
    ("{{ '%*s' % (10**9, 'x') }}", WIDTH),
    ('{{ "{:>999999999}".format(1) }}', WIDTH),
    ("{{ '{:{w}}'.format('x', w=10**9) }}", WIDTH),
    ("{{ '{x:>999999999}'.format_map({'x': 1}) }}", WIDTH),
    ('{{ "%999999999s"|format("x") }}', WIDTH),
    ('{{ "x"|center(10**9) }}', WIDTH),
    ('{{ "x"|indent(10**9, true) }}', WIDTH),
    ("{{ 'x'.zfill(10**9) }}", WIDTH),
    ("{{ 'a\tb'.expandtabs(10**9) }}", WIDTH),
    ("{{ 'ab'|batch(10**9, 'x')|list }}", WIDTH),
    ("{{ {'a': 1}|tojson(indent=10**9) }}", WIDTH),
    # Jinja's globals
    ("{{ lipsum(10**7) }}", WIDTH),
    ("{{ lipsum(1000, min=900, max=1000) }}", "lipsum() would be longer"),
    ("{{ range(10**9)|list }}", "Range too big"),
    # loops and macros
    ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", STEPS),
    (
        "{% set r = range(1000) %}{% for a in r %}{% for b in r %}{% for c in r %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        STEPS,
    ),
    (
        "{% set s = 'x' * 100 %}{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        STEPS,
    ),
    ("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", "macros call macros more than 50"),
    (
        "{% macro m(n) %}{% if n < 40 %}{{ m(n+1) }}{{ m(n+1) }}{% endif %}{% endmacro %}"
        "{{ m(0) }}",
        STEPS,
    ),
    ("{% for i in range(10) recursive %}{{ loop(range(10)) }}{% endfor %}", "RecursionError"),
    ("{% set s = 'x' * 100000 %}{% for i in range(100000) %}{{ s }}{% endfor %}", LONG),
    ("{% for i in range(100000) %}{{ 'abcdefghij' * 10 }}{% endfor %}", LONG),
    ("{% set x %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}", MADE),
    (
        "{% macro m() %}{{ 'y' * 900000 }}{% endmacro %}{% for i in range(20) %}{% set x = m() %}"
        "{% endfor %}",
        MADE,
    ),
    (
        "{% filter upper %}{% for i in range(100000) %}{{ 'y' * 900 }}{% endfor %}{% endfilter %}",
        MADE,
    ),
    ("{{ range(100000)|map('center', 100000)|join }}", MADE),
    ("{{ ('x' * 1000000) ~ ('x' * 1000000) }}", "the printed value would be longer"),
    ("{{ 'x' * 600000 }}{{ 'y' * 600000 }}", "the letter would be longer than 1,000,000"),
]
IDS = [f"bomb{number}" for number in range(len(BOMBS))]


def bomb_on_line_2(sample: Campaign, code: str, name: str = "a.txt.j2") -> None:
    mini(sample, [row()])
    (sample.letters / name).write_text(f"Hello\n{code}\n", encoding="utf-8")


class TestOneLetterIsBounded:
    """A template that would take too long, or make too much, fails at its line."""

    @pytest.mark.parametrize(("code", "message"), BOMBS, ids=IDS)
    def test_export_refuses(self, sample: Campaign, code: str, message: str) -> None:
        bomb_on_line_2(sample, code)
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        first = result.output.splitlines()[0]
        assert first.startswith("recipients.csv:2: error: letters/a.txt.j2:2: "), first
        assert message in first, first
        assert listing(sample.root / "out") == []

    @pytest.mark.parametrize(("code", "message"), BOMBS[::4], ids=IDS[::4])
    def test_check_says_the_same(self, sample: Campaign, code: str, message: str) -> None:
        bomb_on_line_2(sample, code)
        result = sample.run("check")
        assert result.exit_code == 1
        first = result.output.splitlines()[0]
        assert first.startswith("recipients.csv:2: error: letters/a.txt.j2:2: "), first
        assert message in first, first

    @pytest.mark.parametrize(("code", "message"), BOMBS[1::5], ids=IDS[1::5])
    def test_in_an_include(self, sample: Campaign, code: str, message: str) -> None:
        """Named at the included file's own line, inlined or not."""
        mini(sample, [row()])
        (sample.letters / "_part.txt.j2").write_text(f"Part\n\n{code}\n", encoding="utf-8")
        (sample.letters / "a.txt.j2").write_text('Hello\n{% include "_part.txt.j2" %}\n')
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        first = result.output.splitlines()[0]
        assert first.startswith("recipients.csv:2: error: letters/_part.txt.j2:3: "), first
        assert message in first, first

    @pytest.mark.parametrize(("code", "message"), BOMBS[2::6], ids=IDS[2::6])
    def test_in_the_html_letter(self, sample: Campaign, code: str, message: str) -> None:
        bomb_on_line_2(sample, code, "a.html.j2")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        first = result.output.splitlines()[0]
        assert first.startswith("recipients.csv:2: error: letters/a.html.j2:2: "), first
        assert message in first, first

    @pytest.mark.parametrize("code", ["{{ 'x' * 2**40 }}", "{{ lipsum(10**7) }}"])
    def test_in_the_subject(self, sample: Campaign, code: str) -> None:
        mini(sample, [row()])
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace("Letter for", code.replace('"', "'")), encoding="utf-8")
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 1
        first = result.output.splitlines()[0]
        assert first.startswith("recipients.csv:2: error: subject: letters/campaign.toml:9: ")

    def test_ordinary_templates_are_not_limited(self, sample: Campaign) -> None:
        """Loops, padding, numbers and lipsum of a letter's size render as Jinja renders them."""
        code = (
            "{% for i in range(3000) %}{{ i }}{% endfor %}|{{ '%5s' % 'ab' }}|"
            "{{ '{:>6,}'.format(12345) }}|{{ 2**64 }}|{{ 'ab' * 3 }}|{{ lipsum(2)|length > 0 }}|"
            "{{ 'x'|center(9) }}|{{ [1, 2] + [3] }}|{{ 'a' ~ 'b' }}|{{ '%d'|format(5000000) }}"
        )
        bomb_on_line_2(sample, code)
        result = sample.run("export", "--format", "txt", "--date", DATE)
        assert result.exit_code == 0, result.output
        [path] = (sample.root / "out").glob("*.txt")
        text = path.read_text(encoding="utf-8")
        numbers = "".join(str(i) for i in range(3000))
        assert (
            f"{numbers}|   ab|12,345|18446744073709551616|ababab|True|    x    |[1, 2, 3]|ab|"
            "5000000\n" in text
        )


def _limit_memory() -> None:
    # Address space for the whole interpreter: far more than a run needs, far less than
    # any of the templates above would take unbounded.
    limit = 1_500_000_000
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is what Linux enforces")
def test_every_bomb_in_one_run_under_a_memory_limit(sample: Campaign) -> None:
    """One row per template above, in one export under a memory limit: each row is refused at
    its own line, the others go out, and the process never runs out of memory."""
    mini(sample, [])
    branches = "".join(
        f"{{% {'if' if n == 0 else 'elif'} recipient.note == '{n}' %}}\n{code}\n"
        for n, (code, _) in enumerate(BOMBS)
    )
    (sample.letters / "a.txt.j2").write_text(
        f"{branches}{{% else %}}\nfine\n{{% endif %}}\n", encoding="utf-8"
    )
    rows = [row(note=str(n), email=f"p{n}@example.org") for n in range(len(BOMBS))] + [
        row(note="ok", email="ok@example.org")
    ]
    sample.write_recipients(csv_text(rows))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "campaign", "export", "--date", DATE, "--skip-invalid"],
        cwd=sample.root,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_limit_memory,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    with (sample.root / "out" / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        rejects = {int(r["line"]): r["reasons"] for r in csv.DictReader(handle)}
    assert sorted(rejects) == [n + 2 for n in range(len(BOMBS))]
    for n, (_, message) in enumerate(BOMBS):
        assert rejects[n + 2].startswith(f"letters/a.txt.j2:{2 * n + 2}: "), rejects[n + 2]
        assert message in rejects[n + 2]
    assert len(list((sample.root / "out").glob("*.eml"))) == 1
