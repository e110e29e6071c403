"""Hostile input, 12: check's verdict is export's. On the hostile rows of the property tests
and on templates that fail for some rows only (a blank, a computed field that does not apply,
a value too long, an encoding, an HTML-only mistake), an unknown filter in an include, and
every format: the same exit status and the same problems."""

from __future__ import annotations

import shutil

from conftest import DATE, Campaign
from hostile_kit import HTML, TEXT, mini
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_properties import ROWS, write

TEXTS = [
    TEXT,
    TEXT + "{% if recipient.note|length > 3 %}{{ 1 / 0 }}{% endif %}\n",
    TEXT + "{{ recipient.note|titel }}\n",
    TEXT + '{% include "_part.txt.j2" %}\n',
    TEXT + "{{ recipient.constituency }}\n",
    TEXT + "{{ recipient.phone * 100000 }}\n",
    TEXT + "{{ recipient.note.encode('ascii')|length }}\n",
    TEXT + "{% if recipient.note is defined and recipient.note %}{{ recipient.note }}{% endif %}\n",
    "{{ recipient.salutation }}\n{% for c in recipient.last_name %}{{ c * 30000 }}{% endfor %}\n",
]
HTMLS = [
    HTML,
    HTML + "<p>{{ 100 // (recipient.phone|length) }}</p>\n",
    HTML + "<p>{{ recipient.phone }}</p>\n",
    HTML + "{{ recipient.items }}\n",
]
PART = "Part\n{% if recipient.title == 'Senator' %}{{ recipient.note|uper }}{% endif %}\n"
FORMATS = ["eml", "txt", "csv", "jsonl"]
AGREE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def problems(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if ": error: " in line)


class TestCheckAgreesWithExport:
    """Whatever the rows and the template, check says what export would."""

    @AGREE
    @given(
        rows=ROWS,
        text=st.sampled_from(TEXTS),
        html=st.sampled_from(HTMLS),
        fmt=st.sampled_from(FORMATS),
    )
    def test_same_verdict(
        self, sample: Campaign, rows: list[dict[str, str]], text: str, html: str, fmt: str
    ) -> None:
        mini(sample, [])
        (sample.letters / "a.txt.j2").write_text(text, encoding="utf-8")
        (sample.letters / "a.html.j2").write_text(html, encoding="utf-8")
        (sample.letters / "_part.txt.j2").write_text(PART, encoding="utf-8")
        write(sample, rows)
        shutil.rmtree(sample.root / "out", ignore_errors=True)
        checked = sample.run("check", "--format", fmt)
        exported = sample.run("export", "--format", fmt, "--date", DATE)
        assert "Traceback" not in checked.output + exported.output
        assert checked.exit_code == exported.exit_code, (checked.output, exported.output)
        assert problems(checked.output) == problems(exported.output)
