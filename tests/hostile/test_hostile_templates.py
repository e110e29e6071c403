"""Hostile input, 4: a value is text, never template code; HTML is escaped; letters/ is a wall."""

from __future__ import annotations

import os

import pytest
from conftest import DATE, Campaign, parse, text_of
from hostile_kit import assert_refused, mini, row

TEMPLATE_CODE = [
    "{{ 7 * 7 }}",
    "{% include '../recipients.csv' %}",
    "{{ ''.__class__.__mro__ }}",
    "{% for x in range(9) %}{{ x }}{% endfor %}",
    "{# comment #} {{ campaign.sender_email }}",
]


def html_of(data: bytes) -> str:
    part = parse(data).get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


class TestValuesStayLiteral:
    """What a CSV cell says is printed as written, wherever it lands."""

    @pytest.mark.parametrize("code", TEMPLATE_CODE)
    def test_template_code_in_a_value(self, sample: Campaign, code: str) -> None:
        mini(sample, [row(note=code, last_name=code, full_name="Alex Rivera")])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        [path] = (sample.root / "out").glob("000001-*.eml")
        message = parse(path.read_bytes())
        assert f"note=[{code}]" in text_of(message)
        assert message["Subject"] == f"Letter for Senator {code}"

    def test_script_and_ampersand(self, sample: Campaign) -> None:
        """Escaped in the HTML part; as written in the text part and the subject."""
        value = "<script>alert('x')</script> & <b>co</b>"
        mini(sample, [row(note=value, last_name="Rivera & <Sons>")])
        result = sample.run("export", "--date", DATE)
        assert result.exit_code == 0, result.output
        [path] = (sample.root / "out").glob("000001-*.eml")
        data = path.read_bytes()
        message = parse(data)
        assert f"note=[{value}]" in text_of(message)
        assert message["Subject"] == "Letter for Senator Rivera & <Sons>"
        html = html_of(data)
        assert (
            "Alex Rivera: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
            "&lt;b&gt;co&lt;/b&gt;</p>" in html
        )
        assert "<script>" not in html
        assert "Dear Senator Rivera &amp; &lt;Sons&gt;:" in html


class TestLettersFolderIsAWall:
    """Templates read only files inside letters/; a way out is an error with file:line."""

    @pytest.mark.parametrize(
        "tag",
        [
            '{% include "../recipients.csv" %}',
            '{% include "/etc/passwd" %}',
            '{% extends "../recipients.csv" %}',
            '{% import "../../etc/passwd" as secrets %}',
            '{% from "/etc/hostname" import x %}',
        ],
    )
    def test_include_or_extends_outside(self, sample: Campaign, tag: str) -> None:
        mini(sample, [row()])
        path = sample.letters / "a.txt.j2"
        path.write_text(f"Hello\n{tag}\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
        name = tag.split('"')[1]
        assert_refused(
            sample,
            f"letters/a.txt.j2:2: error: template '{name}' not found in letters/ "
            "(templates must be files inside letters/)",
        )

    def test_symlink_leading_outside(self, sample: Campaign) -> None:
        """A link inside letters/ to a file elsewhere is outside all the same."""
        mini(sample, [row()])
        secret = sample.root / "secret.txt"
        secret.write_text("private key\n", encoding="utf-8")
        os.symlink(secret, sample.letters / "footer.txt.j2")
        path = sample.letters / "a.txt.j2"
        path.write_text(path.read_text(encoding="utf-8") + '{% include "footer.txt.j2" %}\n')
        assert_refused(
            sample,
            "letters/a.txt.j2:10: error: template 'footer.txt.j2' leads outside letters/ "
            "(a link?): templates must be files inside letters/",
        )

    def test_include_in_the_subject(self, sample: Campaign) -> None:
        mini(sample, [row()])
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace("Letter for", "{% include '../recipients.csv' %}"))
        assert_refused(
            sample,
            "letters/campaign.toml:9: error: template '../recipients.csv' not found in letters/ "
            "(templates must be files inside letters/)",
        )

    def test_template_that_changes_a_list(self, sample: Campaign) -> None:
        """The immutable sandbox would refuse it at every letter: check says so first."""
        mini(sample, [row()])
        path = sample.letters / "a.txt.j2"
        path.write_text(
            "{% set names = [] %}\n{{ names.append('x') or '' }}{{ campaign.update({}) }}\n",
            encoding="utf-8",
        )
        advice = (
            "() would change a list or dict in place, which templates may not do (one letter "
            "must not change the next): build the value with a filter, e.g. "
            "{{ (names + [name])|join(', ') }}, or a namespace()"
        )
        assert_refused(
            sample,
            f"letters/a.txt.j2:2: error: append{advice}",
            f"letters/a.txt.j2:2: error: update{advice}",
            "letters/a.txt.j2:2: error: campaign.update: no such setting in [campaign] of "
            "letters/campaign.toml",
        )

    def test_computed_include_name(self, sample: Campaign) -> None:
        mini(sample, [row(note="../recipients.csv")])
        path = sample.letters / "a.txt.j2"
        path.write_text("{% include recipient.note %}\n", encoding="utf-8")
        assert_refused(
            sample,
            "letters/a.txt.j2:1: error: include/extends needs a literal template name so it "
            "can be checked",
        )
