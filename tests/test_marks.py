"""Marked letters for the preview pages: the marks never change a letter's words."""

from __future__ import annotations

import html
import re
import time

import pytest
from conftest import Campaign
from markupsafe import escape
from test_check import replace_row
from test_serve import NOW

from campaign.letterview import letter_view
from campaign.marks import MID, START
from campaign.pipeline import Options
from campaign.survey import Snapshot

_TAGS = re.compile(r"<[^>]*>")


def snapshot(sample: Campaign) -> Snapshot:
    options = Options(
        campaign_dir=sample.root,
        campaign_display=".",
        recipients=sample.recipients,
        recipients_display="recipients.csv",
    )
    found = Snapshot(options, NOW, "test")
    deadline = time.monotonic() + 30
    while not found.survey.complete and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def shown_text(body: str) -> str:
    """What a reader of the page sees of a text letter: the tags and badges taken out."""
    without_badges = re.sub(r' <span class="badge [a-z]+">[^<]*</span>', "", body)
    return html.unescape(_TAGS.sub("", without_badges))


def letter_of(snap: Snapshot, number: int) -> tuple[str, str | None]:
    job = snap.job
    assert job is not None
    row = next(r for r in job.rows() if r.number == number)
    letter = job.render(job.prepare(row))
    return letter.text, letter.html


class TestMarkedLetters:
    """Each letter shown is the letter sent, with its sources marked around its words."""

    @pytest.mark.parametrize("number", range(1, 13))
    def test_every_sample_letter_reads_as_sent(self, sample: Campaign, number: int) -> None:
        snap = snapshot(sample)
        view = letter_view(snap, number)
        assert view is not None and view.marked
        text, part = letter_of(snap, number)
        if part is None:
            assert shown_text(str(view.body)) == text
        else:
            assert view.text_body is not None
            assert shown_text(str(view.text_body)) == text
            assert 'class="field' in str(view.body)
        assert 'class="field' in str(view.body)
        assert 'class="cite" href="#ref-1">[1]</a>' in str(view.body)

    def test_markers_in_a_value_leave_the_letter_unmarked(self, sample: Campaign) -> None:
        replace_row(sample, 1, ",Rivera,", f",Riv{START}0{MID}era,")
        snap = snapshot(sample)
        view = letter_view(snap, 1)
        assert view is not None
        text, _ = letter_of(snap, 1)
        assert START in text  # the letter holds the value as it is
        assert not view.marked  # markers could not be told from the value's own
        assert str(view.body) == str(escape(text))

    def test_a_value_in_an_attribute_or_a_filter_is_left_alone(self, sample: Campaign) -> None:
        template = sample.letters / "dhs.html.j2"
        source = template.read_text(encoding="utf-8")
        template.write_text(
            source.replace(
                "<p>{{ recipient.salutation }}</p>",
                '<p title="{{ recipient.last_name }}">{{ recipient.salutation }}</p>'
                "<p>{{ recipient.last_name | upper }}</p>",
            ),
            encoding="utf-8",
        )
        snap = snapshot(sample)
        view = letter_view(snap, 10)
        assert view is not None and view.marked
        body = str(view.body)
        assert '<p title="Ellison">' in body
        assert "<p>ELLISON</p>" in body
        assert START not in body and MID not in body

    def test_a_failing_letter_shows_its_error(self, sample: Campaign) -> None:
        template = sample.letters / "dhs.txt.j2"
        template.write_text(
            template.read_text(encoding="utf-8") + "{{ 1 / 0 }}\n", encoding="utf-8"
        )
        view = letter_view(snapshot(sample), 11)
        assert view is not None
        assert view.body is None
        assert re.match(r"letters/dhs\.txt\.j2:\d+: error: division by zero", view.render_error)
