"""Hostile input, 8: TOML built to break the reader, and links that are not web addresses.

Each is an error at the file and line where it is, exit 1, nothing written, no traceback.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import DATE, Campaign, listing
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.errors import LocatedError
from campaign.tomlfile import MAX_DEPTH, TomlFile, too_deep

FILES = ("campaign.toml", "citations.toml", "quotes.toml")


def refused(sample: Campaign, *wanted: str) -> str:
    """check and export both fail with every ``wanted`` line in their output; nothing written."""
    for command in ("check", "export"):
        args = [command] + (["--date", DATE] if command == "export" else [])
        result = sample.run(*args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        for line in wanted:
            assert line in result.output, result.output
    assert listing(sample.root / "out") == []
    return result.output


def append(sample: Campaign, name: str, text: str) -> int:
    """Add ``text`` at the end of letters/NAME; the line number its first line gets."""
    path = sample.letters / name
    old = path.read_text(encoding="utf-8")
    if not old.endswith("\n"):
        old += "\n"
    path.write_text(old + text, encoding="utf-8")
    return old.count("\n") + 1


DEEP = [
    pytest.param("deep = " + "[" * 10_000 + "]" * 10_000 + "\n", id="arrays-10000"),
    pytest.param("deep = " + "[" * 500 + "]" * 500 + "\n", id="arrays-500"),
    pytest.param("deep = " + "{ a = " * 10_000 + "1" + " }" * 10_000 + "\n", id="inline-tables"),
    pytest.param("deep" + ".a" * 10_000 + " = 1\n", id="dotted-key"),
    pytest.param("[deep" + ".a" * 10_000 + "]\n", id="table-header"),
    pytest.param("deep = [\n" + "[\n" * 5_000 + "]\n" * 5_000 + "]\n", id="over-lines"),
    pytest.param("deep = " + "[{ a = " * 3_000 + "1" + " }]" * 3_000 + "\n", id="mixed"),
]


class TestNesting:
    """Nesting thousands deep is refused before the TOML reader recurses into it."""

    @pytest.mark.parametrize("name", FILES)
    @pytest.mark.parametrize("text", DEEP)
    def test_deep_nesting_is_an_error_at_its_line(
        self, sample: Campaign, name: str, text: str
    ) -> None:
        line = append(sample, name, text)
        # The bracket that goes one past the limit: on the same line, or 32 lines down.
        expected = line + MAX_DEPTH if "\n[\n" in text else line
        refused(sample, f"letters/{name}:{expected}: error: values nested more than 32 deep")

    @pytest.mark.parametrize(
        "text",
        [
            'a = [[1, 2], [3, [4, [5]]]]\nb = { c = { d = "x.y.z" } }\n',
            "pi = 3.14159\nlist = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5]\n",
            "s = '" + "[" * 100 + '\'\nt = """\n' + "{" * 100 + '\n"""\n',
            "# " + "[" * 100 + "\nx = 1\n",
            "a.b.c.d.e.f = 1\n",
        ],
    )
    def test_ordinary_nesting_and_brackets_in_strings_are_fine(self, text: str) -> None:
        assert too_deep(text) is None

    def test_the_limit(self) -> None:
        assert too_deep("a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH) is None
        assert too_deep("a = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)) == 1


class TestOtherHostileToml:
    """Huge numbers, wrong types, bad bytes: each an error at its line."""

    @pytest.mark.parametrize("name", FILES)
    def test_an_integer_of_thousands_of_digits(self, sample: Campaign, name: str) -> None:
        line = append(sample, name, "huge = 1" + "0" * 5_000 + "\n")
        refused(sample, f"letters/{name}:{line}: error: an integer with thousands of digits")

    @pytest.mark.parametrize("name", FILES)
    def test_a_nul_byte(self, sample: Campaign, name: str) -> None:
        line = append(sample, name, 'nul = "a\x00b"\n')
        output = refused(sample, f"letters/{name}:{line}: error: TOML syntax: ")
        assert "\x00" not in output

    @pytest.mark.parametrize("name", FILES)
    def test_bytes_that_are_not_utf8(self, sample: Campaign, name: str) -> None:
        path = sample.letters / name
        data = path.read_bytes()
        path.write_bytes(data + b'\nbad = "caf\xe9"\n')
        line = data.count(b"\n") + 2
        refused(sample, f"letters/{name}:{line}: error: not valid UTF-8")

    @pytest.mark.parametrize("name", FILES)
    def test_a_byte_order_mark_is_accepted(self, sample: Campaign, name: str) -> None:
        path = sample.letters / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        result = sample.run("check")
        assert result.exit_code == 0, result.output

    @pytest.mark.parametrize(
        ("name", "text", "error"),
        [
            ("citations.toml", "other = 5\n", "citation 'other' must be a table"),
            ("citations.toml", "[x]\npublisher = []\n", "'publisher' must be a string"),
            ("citations.toml", '[x]\npublisher = { a = "b" }\n', "'publisher' must be a string"),
            ("citations.toml", "[x]\npage = 1979-05-27\n", "'page' must be a string"),
            ("citations.toml", "[[x]]\ntitle = 'T'\n", "citation 'x' must be a table"),
            ("quotes.toml", "[q]\ntext = 1.5\n", "'text' must be a string"),
            ("quotes.toml", "[q]\nsource_file = true\n", "'source_file' must be a string"),
            ("quotes.toml", "q = [1, 2]\n", "quote 'q' must be a table"),
            ("campaign.toml", "audiences = 7\n", "audience 'dhs': unknown field 'audiences'"),
            (
                "campaign.toml",
                "[audiences.extra]\ntemplate = 7\nsubject = ['s']\n",
                "audience 'extra': 'template' must be a string",
            ),
        ],
    )
    def test_wrong_types(self, sample: Campaign, name: str, text: str, error: str) -> None:
        if text[0] != "[" and name != "campaign.toml":  # a top-level key: before any table
            path = sample.letters / name
            path.write_text(text + path.read_text(encoding="utf-8"), encoding="utf-8")
        else:
            append(sample, name, text)
        output = refused(sample)
        assert error in output

    @pytest.mark.parametrize("key", ["\x1b[31mred", "a\u202eb", "zero\u200bwidth", " "])
    @pytest.mark.parametrize("name", ["citations.toml", "quotes.toml"])
    def test_a_key_with_invisible_characters(self, sample: Campaign, name: str, key: str) -> None:
        """An escape sequence in a key never reaches the terminal: the key is refused."""
        line = append(sample, name, f'[{_toml_string(key)}]\ntitle = "T"\n')
        output = refused(sample, f"letters/{name}:{line}: error: ")
        assert "\x1b" not in output and "\u202e" not in output


HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript\u00ad:alert(1)",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "FILE://server/share",
    "//evil.example/phish",
    "///evil.example",
    "https:/evil.example",
    "https://",
    "https:",
    "http:evil.example",
    "ftp://files.example/report.pdf",
    "mailto:someone@example.org",
    "evil.example/report",
    "/reports/oig-10-63",
    "https://www.oig.dhs.gov@evil.example/",
    "https://evil.example\\@www.oig.dhs.gov/",
    "https://ex ample.org/",
    "https://example.org/<script>",
    'https://example.org/" onmouseover="alert(1)',
    "https://exa\u200bmple.org/",
    "https://-evil-.example/",
    "https://example.org:99999/",
    "https://example.org:port/",
]
GOOD_URLS = [
    "https://www.oig.dhs.gov/reports/audits-inspections-and-evaluations",
    "HTTPS://WWW.OIG.DHS.GOV/",
    "http://example.org:8080/a/b?c=d&e=f#g",
    "https://bücher.example/seite",
    "https://[2001:db8::1]/x",
    "https://192.0.2.1/report.pdf",
    "https://example.org/a%20b",
]


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string, every character outside printable ASCII escaped."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(f"\\U{ord(char):08X}")
    return '"' + "".join(out) + '"'


class TestLinks:
    """Citation and quote source URLs, and link settings, are absolute http(s) with a host."""

    @pytest.mark.parametrize("url", HOSTILE_URLS)
    def test_a_citation_url(self, sample: Campaign, url: str) -> None:
        path = sample.letters / "citations.toml"
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        line = next(n for n, t in enumerate(lines, 1) if t.startswith("url = "))
        lines[line - 1] = f"url = {_toml_string(url)}"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        refused(sample, f"letters/citations.toml:{line}: error: citation 'oig-10-63': url ")

    @pytest.mark.parametrize("url", HOSTILE_URLS)
    def test_a_quote_source_url(self, sample: Campaign, url: str) -> None:
        path = sample.letters / "quotes.toml"
        lines = path.read_text(encoding="utf-8").splitlines()
        table = next(n for n, t in enumerate(lines, 1) if t.startswith("["))
        key = lines[table - 1].strip("[]")
        lines.insert(table, f"source_url = {_toml_string(url)}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        refused(sample, f"letters/quotes.toml:{table + 1}: error: quote '{key}': source_url ")

    @pytest.mark.parametrize("url", GOOD_URLS)
    def test_web_addresses_pass(self, sample: Campaign, url: str) -> None:
        path = sample.letters / "citations.toml"
        lines = path.read_text(encoding="utf-8").splitlines()
        line = next(n for n, t in enumerate(lines, 1) if t.startswith("url = "))
        lines[line - 1] = f"url = {_toml_string(url)}"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 0, result.output

    @pytest.mark.parametrize("url", HOSTILE_URLS)
    @pytest.mark.parametrize("key", ["website", "logo_url", "donate_link", "homepage"])
    def test_a_link_setting(self, sample: Campaign, key: str, url: str) -> None:
        """A setting of the campaign's own named like a link is held to the same rule."""
        path = sample.letters / "campaign.toml"
        text = path.read_text(encoding="utf-8")
        text = text.replace("[campaign]\n", f"[campaign]\n{key} = {_toml_string(url)}\n", 1)
        path.write_text(text, encoding="utf-8")
        line = text.splitlines().index("[campaign]") + 2
        refused(sample, f"letters/campaign.toml:{line}: error: [campaign] setting '{key}' ")

    @pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example", "ftp://x.example"])
    def test_a_list_of_links_in_a_table(self, sample: Campaign, url: str) -> None:
        path = sample.letters / "campaign.toml"
        text = path.read_text(encoding="utf-8")
        setting = f'footer = {{ links = ["https://ok.example", {_toml_string(url)}] }}'
        text = text.replace("[campaign]\n", f"[campaign]\n{setting}\n", 1)
        path.write_text(text, encoding="utf-8")
        line = text.splitlines().index("[campaign]") + 2
        refused(
            sample, f"letters/campaign.toml:{line}: error: [campaign] setting 'footer.links[1]'"
        )

    @pytest.mark.parametrize(
        "value",
        [
            "javascript:alert(1)",
            " JaVa\tScRiPt:x",
            "javascript: alert(1)",
            "vbscript:msgbox",
            "data:text/html,x",
            "\x00data:text/html;base64,PHNjcmlwdD4=",
            "file:///x",
        ],
    )
    def test_any_setting_that_would_run_code_as_a_link(self, sample: Campaign, value: str) -> None:
        """Whatever its name, nested in tables and arrays too."""
        path = sample.letters / "campaign.toml"
        text = path.read_text(encoding="utf-8")
        setting = f"footer = {{ items = [{_toml_string(value)}] }}"
        text = text.replace("[campaign]\n", f"[campaign]\n{setting}\n", 1)
        path.write_text(text, encoding="utf-8")
        line = text.splitlines().index("[campaign]") + 2
        refused(
            sample, f"letters/campaign.toml:{line}: error: [campaign] setting 'footer.items[0]' is"
        )

    def test_ordinary_text_settings_with_colons_pass(self, sample: Campaign) -> None:
        path = sample.letters / "campaign.toml"
        prose = 'motto = "Director: Policy; note: data"\ntagline = "Data: collected by ICE"\n'
        prose += 'files = ["File: the report", "Blob: a blob"]\n'
        text = path.read_text(encoding="utf-8").replace("[campaign]\n", f"[campaign]\n{prose}", 1)
        path.write_text(text, encoding="utf-8")
        assert sample.run("check").exit_code == 0


TOKENS = ["[", "]", "{", "}", "a", "=", "1", ".", ",", '"', "'", "\n", "#", " ", "\\", "x.y", "1.5"]


class TestAnyText:
    """Whatever the bytes, reading a TOML file gives data or a located error, nothing else."""

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.sampled_from(TOKENS), max_size=80),
        st.one_of(st.integers(0, 40), st.integers(0, 3000)),
    )
    def test_random_toml_never_escapes_as_another_exception(
        self, tokens: list[str], depth: int
    ) -> None:
        text = "a = " + "[" * depth + "".join(tokens) + "]" * depth
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "x.toml"
            path.write_text(text, encoding="utf-8")
            try:
                toml = TomlFile(path, "x.toml")
            except LocatedError as exc:
                assert str(exc).startswith("x.toml:")
                return
            # What was read nests no deeper than the limit, so nothing recurses too far on it.
            assert _depth(toml.data) <= MAX_DEPTH + 1
            assert toml.key_line("a") >= 1
            assert toml.table_line("a") >= 0


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((inner, level + 1) for inner in item.values())
        elif isinstance(item, list):
            stack.extend((inner, level + 1) for inner in item)
    return deepest
