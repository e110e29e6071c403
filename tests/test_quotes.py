"""A misquote is reported at its text line, with the words that differ from the source."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DATE, SHARED_ARTICLE, Campaign

from campaign.sources import differences, quote_problem

SOURCE = (
    "Intro. “ICE’s response to this particular recommendation is revealing. They insist that "
    "racial profiling is not occurring, but they then refuse to track the information that "
    "would give evidence to their claim,” said Jumana Musa, policy director."
)
QUOTE = (
    "ICE’s response to this particular recommendation is revealing. They insist that racial "
    "profiling is not occurring, but they then refuse to track the information that would "
    "give evidence to their claim"
)


def add_quote(sample: Campaign, tmp_path: Path, text: str, *, multiline: bool = False) -> int:
    """A quote 'q' of ``text`` checked against SOURCE; the line of its text key."""
    source = tmp_path / "source.txt"
    source.write_text(SOURCE, encoding="utf-8")
    path = sample.letters / "quotes.toml"
    old = path.read_text(encoding="utf-8")
    value = f'"""\n{text}"""' if multiline else '"' + text.replace('"', '\\"') + '"'
    block = (
        f'\n[q]\nspeaker = "S"\ntitle = "T"\norganization = "O"\ntext = {value}\n'
        f'source_title = "X"\nsource_date = "Y"\nsource_file = "{source.as_posix()}"\n'
    )
    path.write_text(old + block, encoding="utf-8")
    return old.count("\n") + 6


def check_error(sample: Campaign) -> str:
    """The one error check reports on quote 'q'; export refuses with the same line."""
    result = sample.run("check")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if ": error: quote 'q'" in line]
    assert len(errors) == 1, result.output
    exported = sample.run("export", "--date", DATE)
    assert exported.exit_code == 1
    assert errors[0] in exported.output.splitlines()
    assert not (sample.root / "out").exists() or not any((sample.root / "out").iterdir())
    return errors[0]


class TestMisquotes:
    """check names the quote's text line and shows each difference, as the source prints it."""

    def test_one_word_changed(self, sample: Campaign, tmp_path: Path) -> None:
        line = add_quote(sample, tmp_path, QUOTE.replace("the information", "the data"))
        error = check_error(sample)
        assert error.startswith(f"letters/quotes.toml:{line}: error: quote 'q': text is not in")
        assert (
            'it differs in 1 place: "... the «data» that ..." where the source has '
            '"... the «information» that ..."'
        ) in error

    def test_a_word_missing(self, sample: Campaign, tmp_path: Path) -> None:
        line = add_quote(sample, tmp_path, QUOTE.replace("insist that racial", "insist that"))
        error = check_error(sample)
        assert error.startswith(f"letters/quotes.toml:{line}: error: ")
        assert (
            '"... that profiling ..." where the source has "... that «racial» profiling ..."'
        ) in error

    def test_a_word_added(self, sample: Campaign, tmp_path: Path) -> None:
        add_quote(sample, tmp_path, QUOTE.replace("this particular", "this very particular"))
        assert (
            '"... this «very» particular ..." where the source has "... this particular ..."'
        ) in check_error(sample)

    def test_several_differences(self, sample: Campaign, tmp_path: Path) -> None:
        text = (
            QUOTE.replace("is revealing", "was revealing")
            .replace("the information", "the data")
            .replace("their claim", "our claim")
        )
        add_quote(sample, tmp_path, text)
        error = check_error(sample)
        assert "it differs in 3 places: " in error
        assert '"... recommendation «was» revealing. ..." where the source has' in error
        assert '"... the «data» that ..." where the source has "... the «information»' in error
        # The source's own typographic closing quote is shown as it is printed there.
        assert '"... to «our» claim" where the source has "... to «their» claim,” ..."' in error

    def test_many_differences_are_counted(self, sample: Campaign, tmp_path: Path) -> None:
        words = QUOTE.split()
        text = " ".join(w.upper() if n % 3 == 1 else w for n, w in enumerate(words))
        add_quote(sample, tmp_path, text)
        error = check_error(sample)
        assert "and " in error and " more" in error
        assert error.count(" where the source has ") == 5

    def test_a_change_of_case_is_a_difference(self, sample: Campaign, tmp_path: Path) -> None:
        add_quote(sample, tmp_path, QUOTE.replace("the information", "the Information"))
        assert '"... the «Information» that ..." where the source has' in check_error(sample)

    def test_punctuation_is_a_difference(self, sample: Campaign, tmp_path: Path) -> None:
        add_quote(sample, tmp_path, QUOTE.replace("revealing. They", "revealing, They"))
        error = check_error(sample)
        assert '"... is «revealing,» They ..." where the source has "... is «revealing.»' in error

    def test_the_line_of_a_multi_line_text(self, sample: Campaign, tmp_path: Path) -> None:
        text = QUOTE.replace("the information", "the data").replace(" but ", "\nbut ")
        line = add_quote(sample, tmp_path, text, multiline=True)
        assert check_error(sample).startswith(f"letters/quotes.toml:{line}: error: ")

    @pytest.mark.skipif(not SHARED_ARTICLE.is_file(), reason="the source article is not there")
    def test_the_sample_quote_with_one_word_changed(self, sample: Campaign) -> None:
        """The sample's own quote against the real article."""
        path = sample.letters / "quotes.toml"
        lines = path.read_text(encoding="utf-8").splitlines()
        line = next(n for n, t in enumerate(lines, 1) if "track the data" in t)
        lines[line - 1] = lines[line - 1].replace("track the data", "track the information")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 1
        assert (
            f"letters/quotes.toml:{line}: error: quote 'musa': text is not in "
            "article-287g-ig-report.txt as written"
        ) in result.output
        assert (
            '"... the «information» that ..." where the source has "... the «data» that ..."'
        ) in result.output


class TestQuoteMarks:
    """Straight and typographic quote marks and apostrophes are equal; the rule is as before."""

    @pytest.mark.parametrize(
        "text",
        [
            QUOTE,
            QUOTE.replace("’", "'"),
            QUOTE.replace("ICE’s", "ICE‘s"),
            "“ICE's response to this particular recommendation",
            "\"ICE's response to this particular recommendation",
            "their claim,\u201d said Jumana",
            'their claim," said Jumana',
            "policy   director.",
            "said\u00a0Jumana Musa",
        ],
    )
    def test_equal_texts_pass(self, tmp_path: Path, text: str) -> None:
        source = tmp_path / "source.txt"
        source.write_text(SOURCE, encoding="utf-8")
        assert quote_problem(text, source) is None

    def test_straight_quotes_in_the_quote_are_shown_as_the_source_prints_them(self) -> None:
        found = differences("ICE's response to that particular", SOURCE)
        assert found == [
            '"... to «that» particular" where the source has "... to «this» particular ..."'
        ]
        found = differences("“ICE's answer to this", SOURCE)
        assert found == [
            '"“ICE\'s «answer» to ..." where the source has "... “ICE’s «response» to ..."'
        ]

    def test_a_quote_unlike_anything_in_the_source(self, tmp_path: Path) -> None:
        source = tmp_path / "source.txt"
        source.write_text(SOURCE, encoding="utf-8")
        problem = quote_problem("Nothing whatsoever alike", source)
        assert problem is not None and "differs in" not in problem
        assert problem.startswith("text is not in source.txt as written; the closest passage")

    def test_controls_in_the_quote_or_source_never_reach_the_terminal(self, tmp_path: Path) -> None:
        source = tmp_path / "source.txt"
        source.write_text(SOURCE.replace("the information", "the \x1b[2Jinformation"), "utf-8")
        problem = quote_problem(QUOTE.replace("the information", "the \x1b]0;x\x07data"), source)
        assert problem is not None
        assert "\x1b" not in problem and "\x07" not in problem
        assert "\\u001b" in problem
