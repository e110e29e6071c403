"""Hostile input, 11: blank values. A blank CSV value the letter prints is an error at the
row and the template line, naming the column; a template may test for it and print it only when
it has a value."""

from __future__ import annotations

import pytest
from conftest import Campaign
from hostile_kit import mini, row


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line]


class TestBlankColumns:
    """A blank CSV value the letter prints is an error at the row, naming the column."""

    @pytest.mark.parametrize(
        "code",
        [
            "{{ recipient.note }}",
            "{{ recipient['note'] }}",
            "{{ recipient.note|trim }}",
            "{{ recipient.note.strip() }}",
            "{{ recipient.note|default('n/a') }}",
        ],
    )
    @pytest.mark.parametrize("blank", ["", "   "])
    def test_printed_blank(self, sample: Campaign, code: str, blank: str) -> None:
        mini(sample, [row(note=blank)])
        (sample.letters / "a.html.j2").write_text("<p>Hi</p>\n", encoding="utf-8")
        message = (
            "recipients.csv:2: error: letters/a.txt.j2:2: column 'note' is empty for "
            "this recipient, and the template prints it: fill it in, or print it only when it "
            "has a value ({% if recipient.note %}...{% endif %})"
        )
        result = sample.run("check")
        assert result.exit_code == 1
        # The kit's own letter prints note on line 8 too: both are reported, the first wins.
        assert errors(result.output)[0].startswith(
            "recipients.csv:2: error: letters/a.txt.j2:8: column 'note' is empty"
        )
        (sample.letters / "a.txt.j2").write_text(f"Dear reader,\nNote: {code}\n", encoding="utf-8")
        result = sample.run("check")
        assert errors(result.output) == [message]
        assert errors(sample.run("export", "--date", "2026-11-27").output) == errors(result.output)

    @pytest.mark.parametrize(
        "code",
        [
            "{% if recipient.note %}Note: {{ recipient.note }}{% endif %}",
            "{{ recipient.note or 'no note' }}",
            "{{ recipient.note|default('no note', true) }}",
            "{{ recipient.note|length }} {{ recipient.note == '' }}",
        ],
    )
    def test_blank_used_with_care(self, sample: Campaign, code: str) -> None:
        mini(sample, [row(note="")])
        (sample.letters / "a.html.j2").write_text("<p>Hi</p>\n", encoding="utf-8")
        (sample.letters / "a.txt.j2").write_text(f"Dear reader,\n{code}\n", encoding="utf-8")
        result = sample.run("check")
        assert result.exit_code == 0, result.output

    def test_blank_in_the_subject_and_html(self, sample: Campaign) -> None:
        mini(sample, [row(phone="")])
        (sample.letters / "a.txt.j2").write_text("Dear reader,\n", encoding="utf-8")
        (sample.letters / "a.html.j2").write_text("<p>Call {{ recipient.phone }}</p>\n")
        result = sample.run("check")
        assert errors(result.output) == [
            "recipients.csv:2: error: letters/a.html.j2:1: column 'phone' is empty for this "
            "recipient, and the template prints it: fill it in, or print it only when it has a "
            "value ({% if recipient.phone %}...{% endif %})"
        ]
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace("{{ recipient.last_name }}", "{{ recipient.phone }}"))
        result = sample.run("check")
        assert errors(result.output)[0].startswith(
            "recipients.csv:2: error: subject: letters/campaign.toml:9: column 'phone' is empty"
        )
