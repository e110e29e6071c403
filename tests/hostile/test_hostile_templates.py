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


DICT_METHOD_NAMES = [
    "values",
    "items",
    "keys",
    "get",
    "pop",
    "update",
    "copy",
    "clear",
    "setdefault",
]


class TestNamesAreData:
    """recipient.values is the 'values' column: attribute access on data gives the data."""

    @pytest.mark.parametrize("column", DICT_METHOD_NAMES)
    def test_column_named_like_a_dict_method(self, sample: Campaign, column: str) -> None:
        from hostile_kit import GOOD, HEADER, csv_text

        mini(sample, [])
        sample.write_recipients(
            csv_text([{**GOOD, column: f"the {column} cell"}], [*HEADER, column])
        )
        path = sample.letters / "a.txt.j2"
        path.write_text(
            f"[{{{{ recipient.{column} }}}}] [{{{{ recipient['{column}'] }}}}]\n", encoding="utf-8"
        )
        for _ in range(2):  # the same bytes every run: no object address in the letter
            result = sample.run("export", "--format", "txt", "--date", DATE, "--overwrite")
            assert result.exit_code == 0, result.output
            [letter] = (sample.root / "out").glob("*.txt")
            text = letter.read_text(encoding="utf-8")
            assert f"[the {column} cell] [the {column} cell]" in text
            assert "built-in method" not in text

    def test_setting_and_citation_named_like_dict_methods(self, sample: Campaign) -> None:
        mini(sample, [row()])
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(
            text.replace('name = "Hostile"', 'name = "Hostile"\nitems = "the items setting"')
        )
        (sample.letters / "citations.toml").write_text(
            '[values]\npublisher = "P"\ntitle = "T"\nnumber = "N"\ndate = "D"\n'
            'url = "https://example.org/v"\n',
            encoding="utf-8",
        )
        (sample.letters / "a.txt.j2").write_text(
            "{{ campaign.items }} {{ citations.values.url }}{{ cite('values') }}\n",
            encoding="utf-8",
        )
        result = sample.run("export", "--format", "txt", "--date", DATE)
        assert result.exit_code == 0, result.output
        [letter] = (sample.root / "out").glob("*.txt")
        assert "the items setting https://example.org/v[1]" in letter.read_text(encoding="utf-8")


class TestUnknownFiltersAndTests:
    """A filter or test Jinja lacks: at the template's own file and line, with a near miss."""

    @pytest.mark.parametrize(
        ("code", "message"),
        [
            ("{{ recipient.note|titel }}", "no filter named 'titel' (did you mean 'title'?)"),
            ("{% if 3 is od %}x{% endif %}", "no test named 'od' (did you mean 'odd'?)"),
            ("{% filter uper %}x{% endfilter %}", "no filter named 'uper' (did you mean 'upper'?)"),
            ("{{ ['a']|map('uper')|join }}", "no filter named 'uper' (did you mean 'upper'?)"),
            ("{{ [1]|select('evn')|list }}", "no test named 'evn' (did you mean 'even'?)"),
            (
                "{{ [1]|rejectattr('x', 'nnone')|list }}",
                "no test named 'nnone' (did you mean 'none'?)",
            ),
            ("{% if false %}{{ 1|frobnicate }}{% endif %}", "no filter named 'frobnicate'"),
        ],
    )
    @pytest.mark.parametrize("where", ["template", "include"])
    def test_reported_where_it_is(
        self, sample: Campaign, code: str, message: str, where: str
    ) -> None:
        mini(sample, [row()])
        if where == "include":
            (sample.letters / "_part.txt.j2").write_text(f"Part\n{code}\n", encoding="utf-8")
            (sample.letters / "a.txt.j2").write_text('Hi\n\n{% include "_part.txt.j2" %}\n')
            expected = f"letters/_part.txt.j2:2: error: {message}"
        else:
            (sample.letters / "a.txt.j2").write_text(f"Hi\n{code}\n", encoding="utf-8")
            expected = f"letters/a.txt.j2:2: error: {message}"
        assert_refused(sample, expected)
        result = sample.run("check")
        assert result.exit_code == 1
        assert result.output.splitlines()[0] == expected

    def test_in_the_subject(self, sample: Campaign) -> None:
        mini(sample, [row()])
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace("{{ recipient.title }}", "{{ recipient.title|lowr }}"))
        assert_refused(
            sample, "letters/campaign.toml:9: error: no filter named 'lowr' (did you mean 'lower'?)"
        )
