"""Speed shortcuts against the slow paths they stand in for: each must give the same result.

LetterSandbox's getattr/call/make_globals/get_template against Jinja's own sandbox,
_only_fields and the subject cache against an uncached Renderer, and encode_header and
verify against Python's email package and the shapes of header this program must refuse.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime
from itertools import product
from typing import Any

import pytest
from conftest import Campaign
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, FileSystemLoader, StrictUndefined, pass_context
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment, unsafe

from campaign.errors import CampaignError
from campaign.message import InternalError, build, encode_header, make_envelope, verify
from campaign.pipeline import Job, Options
from campaign.render import (
    Footnotes,
    LetterSandbox,
    Renderer,
    RenderError,
    Sources,
    _nl2br,
    _only_fields,
)
from campaign.safety import header_problem
from campaign.settings import Campaign as CampaignData
from campaign.settings import Citation, Quote, load_campaign

# -- LetterSandbox against Jinja's ImmutableSandboxedEnvironment -----------------------------

CITATION = Citation(
    "k", "Pub & Co", "Title <k>", "K-1", "2010", "https://x.example/k?a=1&b=2", "4", None, 1
)
QUOTE = Quote("q", "Ana", "director", "Org", "It's <so>", "S", "2010", None, None, 1)
# 'items' and 'keys' are dict attribute names and keys too; '_note' starts with an underscore.
RECIPIENT = {"title": "Senator", "last_name": "Padilla", "items": "x", "keys": "k", "_note": "n"}
PARTS = {
    "part": "{{ recipient.title }}{{ cite('k') }}",
    "loop": "{% for i in range(2) %}{% include 'part' %}{% endfor %}",
    # For the inlined includes: what an include sets stays in it; it sees the loop variable
    # and the names set where it is included; its macros and its own includes work.
    "sets": "{% set x = 'inner' %}{{ x }}",
    "box": "[{{ box }}]",
    "macro": "{% macro m(v) %}<{{ v }}>{% endmacro %}{{ m(recipient.title) }}",
    "nested": "({% include 'part' %})",
    "uses_loop": "{{ loop.index }}",
    "escapes": "{{ '<b>' }}",
    "missing_name": "{{ nobody }}",
    "own_autoescape": "{% autoescape false %}{{ '<i>' }}{% endautoescape %}",
}
# Reprs of bound methods name the object's address, which differs between two dicts.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

Outcome = tuple[type[BaseException] | None, str]


class Tool:
    """Bound methods that are not the helpers: they must still go through the sandbox's call."""

    @unsafe
    def secret(self) -> str:
        return "leaked"

    @pass_context
    def where(self, context: Context) -> str:
        return str(context["recipient"]["title"])


def sandboxed(
    env_class: type[SandboxedEnvironment], source: str, html: bool
) -> tuple[Outcome, dict[str, str], dict[str, int]]:
    """Render source in a new environment of env_class, configured as render.py does.

    Returns the output (or the exception's type and message), the recipient dict afterwards
    (a template may mutate it) and the footnote numbers the template handed out.
    """
    env = env_class(
        loader=DictLoader(PARTS),
        undefined=StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    notes = Footnotes(Sources({"k": CITATION}, {"q": QUOTE}, html=html))
    recipient = dict(RECIPIENT)
    context = {
        "recipient": recipient,
        "cite": notes.cite,
        "quote": notes.quote,
        "references": notes.references,
        "tool": Tool(),
        "citations": {"k": CITATION},
    }
    outcome: Outcome
    try:
        outcome = (None, _ADDRESS.sub(" at 0x?", env.from_string(source).render(context)))
    except Exception as exc:
        outcome = (type(exc), _ADDRESS.sub(" at 0x?", str(exc)))
    return outcome, recipient, notes.order


# (template, what the reference sandbox gives: text found in the output, or an exception type)
SANDBOX_CASES: list[tuple[str, str | type[BaseException]]] = [
    ("{{ recipient.title }}", "Senator"),
    ("{{ recipient['last_name'] }}", "Padilla"),
    ("{{ recipient._note }}", "n"),
    ("{{ recipient.items }}", "built-in method items of dict object"),
    ("{{ recipient.keys }}", "built-in method keys of dict object"),
    ("{{ recipient.get('keys') }}", "k"),
    ("{{ recipient.missing }}", UndefinedError),
    ("{{ recipient.__dict__ }}", UndefinedError),
    ("{{ recipient.__class__ }}", SecurityError),
    ("{{ recipient.update.__self__ }}", SecurityError),
    # The immutable sandbox: no template changes what the next letter is given.
    ("{{ recipient.update({'title': 'Judge'}) }}{{ recipient.title }}", SecurityError),
    ("{{ recipient.pop('title') }}{{ recipient.title }}", SecurityError),
    ("{{ recipient.title.upper() }}", "SENATOR"),
    ('{{ "{0.__class__}".format(recipient) }}', SecurityError),
    ('{{ "".__class__.__mro__ }}', SecurityError),
    ('{{ cite("k") }}{{ cite("k") }}{{ references() }}', "[1][1]"),
    ('{% for i in range(2) %}{{ cite("k") }}{% endfor %}{{ references() }}', "[1][1]"),
    ('{% for i in range(2) %}{% set n = cite(key="k") %}{{ n }}{% endfor %}', "[1][1]"),
    ('{% block b %}{{ cite("k") }}{% endblock %}', "[1]"),
    ('{% macro m(key) %}{{ cite(key) }}{% endmacro %}{{ m("k") }}{{ m("k") }}', "[1][1]"),
    ('{{ cite("nope") }}', CampaignError),
    ('{{ cite(self="k") }}', TypeError),
    ('{{ quote("q") }}', "Ana, director, Org"),
    ('{{ quote("nope") }}', CampaignError),
    ("{{ cite }}", "bound method Footnotes.cite of"),
    ("{{ tool.secret() }}", SecurityError),
    ("{{ tool.where() }}", "Senator"),
    ("{{ cite.__func__ }}", SecurityError),
    ("{{ cite.__self__.order }}", SecurityError),
    ('{% include "part" %}{% include "part" %}{{ references() }}', "Senator[1]Senator[1]"),
    ('{% include "loop" %}', "Senator[1]Senator[1]"),
    ('{% include "absent" %}', Exception),  # TemplateNotFound, whichever subclass: compared
    ("{% set x = 'outer' %}{% include 'sets' %}{{ x }}", "innerouter"),
    ("{% include 'sets' %}{{ x is defined }}", "innerFalse"),
    ("{% for box in [1, 2] %}{% include 'box' %}{% endfor %}", "[1][2]"),
    ("{% set box = 'b' %}{% include 'box' %}", "[b]"),
    ("{% include 'macro' %}{% include 'macro' %}", "<Senator><Senator>"),
    ("{% include 'nested' %}{% include 'nested' %}{{ references() }}", "(Senator[1])"),
    ("{% for i in 'ab' %}{% include 'uses_loop' %}{% endfor %}", UndefinedError),
    # Escaped in HTML letters, as the include's own setting says (compared above).
    ("{% include 'escapes' %}", "b"),
    ("{% autoescape false %}{% include 'escapes' %}{% endautoescape %}", "b"),
    ("{% include 'own_autoescape' %}{{ '<u>' }}", "<i>"),
    ("{% include 'missing_name' %}", UndefinedError),
    ("{% include 'part' ignore missing %}{% include 'absent' ignore missing %}", "Senator[1]"),
    ("{% include 'part' without context %}", UndefinedError),
    ("{% include ['absent', 'part'] %}", "Senator[1]"),
    # The including template sets, after the include, a name the included one reads.
    ("{% include 'part' %}|{% set recipient = {'title': 'J'} %}{{ recipient.title }}", "r[1]|J"),
    ("{% include 'part' %}{% macro cite(k) %}*{% endmacro %}{{ cite('k') }}", "Senator[1]*"),
    ("{% for i in [1] %}{% include 'box' %}{% set box = 2 %}{% endfor %}", UndefinedError),
    ("{{ range(3)|list }} {{ namespace(a=1).a }} {{ lipsum is defined }}", "[0, 1, 2] 1 True"),
    ("{{ recipient|tojson }}", "Padilla"),
    ('{{ citations["k"].excerpt }} {{ citations.k.number }}', "None K-1"),
    ("{{ citations.k.page }}|{{ citations.k.line }}", "|"),
    ("{{ citations.k.missing }}", UndefinedError),
    ("{{ citations.k.__class__ }}", SecurityError),
    ("{{ citations.k._hidden }}", UndefinedError),
    ("{{ citations.k.__eq__(citations.k) }}", SecurityError),
]


@pytest.mark.parametrize("html", [False, True], ids=["text", "html"])
@pytest.mark.parametrize(("source", "expected"), SANDBOX_CASES)
def test_letter_sandbox_matches_jinja_sandbox(
    source: str, expected: str | type[BaseException], html: bool
) -> None:
    """A template renders, fails or is refused exactly as in Jinja's own sandbox."""
    fast = sandboxed(LetterSandbox, source, html)
    slow = sandboxed(ImmutableSandboxedEnvironment, source, html)
    assert fast == slow
    # And the reference does what the case is about, so the comparison is not vacuous.
    kind, text = slow[0]
    if isinstance(expected, str):
        assert kind is None, text
        assert expected in text
    else:
        assert kind is not None and issubclass(kind, expected), (kind, text)


def test_get_template_memo_is_the_loaded_template() -> None:
    """Asking twice for an included template gives the one loaded, as Jinja's own cache does."""
    env = LetterSandbox(loader=DictLoader(PARTS), undefined=StrictUndefined)
    first = env.get_template("part")
    assert env.get_template("part") is first
    assert first.render(recipient={"title": "Senator"}, cite=lambda key: "[1]") == "Senator[1]"
    # Globals for one template are not memoised: they go to Jinja, which applies them.
    special = env.get_template("part", globals={"cite": lambda key: "[9]"})
    assert special.render(recipient={"title": "Senator"}) == "Senator[9]"


# -- The sample campaign, rendered by Renderer and by Jinja's own Template.render ------------

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def reference_env(data: CampaignData, html: bool) -> SandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(data.letters)),
        undefined=StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["nl2br"] = _nl2br
    return env


def reference_context(
    data: CampaignData, recipient: dict[str, str], date: str, html: bool
) -> dict[str, Any]:
    notes = Footnotes(Sources(data.citations, data.quotes, html=html))
    return {
        "recipient": recipient,
        "campaign": data.settings,
        "date": date,
        "citations": data.citations,
        "cite": notes.cite,
        "references": notes.references,
        "quote": notes.quote,
    }


def test_sample_letters_match_plain_sandbox(sample: Campaign) -> None:
    """Every sample letter, text, HTML and subject, is what Jinja's sandbox renders."""
    job = Job(Options(sample.root, ".", sample.recipients, "recipients.csv"), NOW)
    assert not job.problems.errors, job.problems.errors
    text_env = reference_env(job.campaign, html=False)
    html_env = reference_env(job.campaign, html=True)
    compared = 0
    for row in job.rows():
        recipient = job.prepare(row)
        assert not recipient.problems, recipient.problems
        audience, fields = recipient.audience, recipient.fields
        spec = job.campaign.audiences[audience]
        letter = job.renderer.letter(audience, fields, job.date)
        context = reference_context(job.campaign, fields, job.date, html=False)
        assert letter.text == text_env.get_template(spec.template).render(context)
        subject = text_env.from_string(spec.subject).render(context)
        assert recipient.subject == " ".join(subject.split())
        if spec.html_template:
            html_context = reference_context(job.campaign, fields, job.date, html=True)
            expected = html_env.get_template(spec.html_template).render(html_context)
            assert letter.html == expected
        compared += 1
    assert compared >= 10


# -- _only_fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fields"),
    [
        ("Hi {{ recipient.last_name }}", ("last_name",)),
        (
            "{% if recipient.title == 'Senator' %}{{ recipient['last_name'] }}{% endif %}",
            ("title", "last_name"),
        ),
        ("{{ recipient.last_name }} {{ recipient.last_name|upper }} {{ date }}", ("last_name",)),
        ("{{ cite('k') }} {{ campaign.name }}", ()),
        ("A fixed subject", ()),
    ],
)
def test_only_fields_names_the_fields_read(source: str, fields: tuple[str, ...]) -> None:
    """A subject that reads only these recipient fields is cached by exactly these."""
    assert _only_fields(LetterSandbox().parse(source)) == fields


@pytest.mark.parametrize(
    "source",
    [
        "{{ lipsum() }}",
        "{{ [1, 2]|random }}",
        "{% filter random %}ab{% endfilter %}",
        "{{ recipient }}",
        "{{ recipient|tojson }}",
        "{{ recipient.items() }}",
        "{{ recipient['items'] }}",
        "{% set key = 'x' %}{{ recipient[key] }}",
        "{% include 'x' %}",
        "{% import 'x' as x %}",
        "{% extends 'x' %}",
        "{% for k in recipient %}{{ k }}{% endfor %}",
        "{% set recipient = {} %}{{ recipient.x }}",
        "{% with r = recipient %}{{ r.title }}{% endwith %}",
        "{% macro m(recipient) %}{{ recipient.x }}{% endmacro %}{{ m({'x': 1}) }}",
        "{{ recipient.title }} {{ cycler('a', 'b').next() }}",
        # map('random') applies the random filter to each item: a different subject per
        # letter, which the cache would hand to every recipient with the same fields.
        "{{ ['abcdefgh', 'ijklmnop']|map('random')|join }}",
    ],
)
def test_only_fields_refuses_what_else_may_change(source: str) -> None:
    """A subject that may depend on more than recipient fields is never cached."""
    assert _only_fields(LetterSandbox().parse(source)) is None


# -- The subject cache against an uncached Renderer -----------------------------------------

DATES = ("November 27, 2026", "November 28, 2026")
RECIPIENTS = [
    {"title": title, "last_name": last, "first_name": first, "state": "CA"}
    for title, last, first in product(
        ("Senator", "Representative", "Secretary of Homeland Security"),
        ("Rivera", "Whitfield", "Núñez", "O'Brien"),
        ("Alex", "Dana"),
    )
]


def campaign_with(sample: Campaign, subject: str | None) -> CampaignData:
    """The sample campaign, its congress subject replaced when subject is given."""
    data = load_campaign(sample.root, ".")
    if subject is not None:
        spec = data.audiences["congress"]
        data.audiences["congress"] = dataclasses.replace(spec, subject=subject)
    return data


def uncached_subject(
    data: CampaignData, audience: str, recipient: dict[str, str], date: str
) -> str:
    renderer = Renderer(data)
    renderer.compile(audience)
    return renderer.subject(audience, recipient, date)


@pytest.mark.parametrize(
    ("subject", "fields"),
    [
        (None, ("title", "last_name")),  # the sample's own subject
        (
            "{{ recipient['last_name'] }} / {{ recipient.title|upper }}, {{ date }}",
            ("last_name", "title"),
        ),
        (
            "  {{ recipient.title }}\n\n  {{ recipient.last_name }}  {{ cite('oig-10-63') }}",
            ("title", "last_name"),
        ),
        (
            "{% set n = recipient.last_name|length %}{{ n }} {{ recipient.title[:3] }}",
            ("last_name", "title"),
        ),
    ],
)
def test_cached_subjects_match_uncached(
    sample: Campaign, subject: str | None, fields: tuple[str, ...]
) -> None:
    """Subjects from a warm cache are those a fresh Renderer gives, for every recipient."""
    data = campaign_with(sample, subject)
    renderer = Renderer(data)
    renderer.compile("congress")
    read = renderer._subject_fields["congress"]
    assert read == fields  # the cache is in use, keyed by these fields
    for _ in range(2):
        for date, recipient in product(DATES, RECIPIENTS):
            got = renderer.subject("congress", recipient, date)
            assert got == uncached_subject(data, "congress", recipient, date), recipient
    # One entry per distinct (date, field values): first_name and state do not split it.
    distinct = {(d, *[r[f] for f in fields]) for d, r in product(DATES, RECIPIENTS)}
    assert len(renderer._subject_cache) == len(distinct)


def test_subject_cache_is_keyed_by_the_fields(sample: Campaign) -> None:
    """A recipient whose subject field differs gets their own subject, not a cached one."""
    renderer = Renderer(campaign_with(sample, None))
    renderer.compile("congress")
    date = DATES[0]

    def subject(**values: str) -> str:
        return renderer.subject("congress", {"first_name": "Alex", **values}, date)

    rivera = subject(title="Senator", last_name="Rivera")
    assert rivera.endswith(", Senator Rivera")
    assert subject(title="Senator", last_name="Whitfield").endswith(", Senator Whitfield")
    assert "Rivera" not in subject(title="Representative", last_name="Rivera")
    assert subject(title="Senator", last_name="Rivera", first_name="Dana") == rivera


def test_subject_with_lipsum_is_not_cached(sample: Campaign) -> None:
    """A subject using Jinja's lipsum() is rendered afresh for every letter."""
    data = campaign_with(sample, "{{ lipsum(1, html=False, min=3, max=5) }} {{ date }}")
    renderer = Renderer(data)
    renderer.compile("congress")
    assert renderer._subject_fields["congress"] is None
    for recipient in RECIPIENTS[:3]:
        renderer.subject("congress", recipient, DATES[0])
    assert renderer._subject_cache == {}


# -- encode_header against the email package --------------------------------------------------

_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")


def check_subject(value: str) -> None:
    header = encode_header("Subject", value)
    lines = header.split("\n")
    assert all(len(line) <= 78 for line in lines), lines
    assert all(line.startswith(" ") for line in lines[1:]), lines
    words = _WORD.findall(header)
    assert words, header
    assert all(len(word) <= 75 for word in words), words
    message = message_from_bytes(f"{header}\n\nbody\n".encode("ascii"), policy=default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == value
    assert not message.defects and not message["Subject"].defects


@pytest.mark.parametrize(
    "value",
    [
        "Señora Núñez, 287(g)",
        "é",
        "😀",
        "😀" * 40,
        "a?b_c=d ü =?utf-8?q?x?= ?= _=_",
        "Überprüfung " * 25,  # 300 characters
        ("ü" + "😀?_= x" * 60)[:300],
        " leading and trailing spaces, twice  in the middle ü ",
        "中文主题" * 75,
    ],
)
def test_encode_header_round_trips(value: str) -> None:
    """A non-ASCII subject reads back exactly, in encoded-words and lines of legal length."""
    check_subject(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.text(min_size=1, max_size=320))
def test_encode_header_round_trips_any_text(value: str) -> None:
    """Any non-ASCII subject the safety checks let through reads back exactly."""
    assume(not value.isascii() and header_problem(value) is None)
    check_subject(value)


# -- verify against header blocks this program must never write -------------------------------

ENVELOPE = make_envelope(
    "Coalition for Fair Enforcement",
    "letters@coalition.example.org",
    "organizers@coalition.example.org",
    format_datetime(NOW),
    "coalition.example.org",
    "seed",
)
TO = "ines@example.org"
# Long enough that the Subject is folded over several lines.
SUBJECT = "Señora Núñez, 287(g) oversight " * 4


def header_block(name: str = "Inés Núñez", html: str | None = None) -> bytes:
    data = build(ENVELOPE, name, TO, SUBJECT, "Dear Señora Núñez:\n", html, "key")
    return data[: data.index(b"\n\n") + 2]


@pytest.mark.parametrize(
    ("name", "html"), [("Inés Núñez", None), ("Inés Núñez", "<p>Hola</p>"), ("O'Brien, Pat", None)]
)
def test_verify_passes_what_build_writes(name: str, html: str | None) -> None:
    """The header block build() writes passes verify() (build() itself calls it too)."""
    block = header_block(name, html)
    assert b"\n =?utf-8?q?" in block  # the Subject is folded
    verify(block, TO, reply_to=True)


def _replace_to(block: bytes, value: bytes) -> bytes:
    lines = block.split(b"\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(b"To: "))
    assert not lines[index + 1].startswith(b" ")  # To is one line here
    lines[index] = b"To: " + value
    return b"\n".join(lines)


def _once(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def change(block: bytes) -> bytes:
        assert old in block
        return block.replace(old, new, 1)

    return change


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_once(b"\nSubject: ", b"\nBcc: eve@evil.example\nSubject: "), id="bcc"),
        pytest.param(
            lambda block: _replace_to(block, b"Eve <eve@evil.example>, Ines <ines@example.org>"),
            id="two-addresses",
        ),
        pytest.param(
            lambda block: _replace_to(block, b"Ines <ines@example.org>, <eve@evil.example>"),
            id="two-addresses-ours-first",
        ),
        pytest.param(_once(b"\n =?utf-8?q?", b"\n=?utf-8?q?"), id="unindented-continuation"),
        pytest.param(_once(b"\n =?utf-8?q?", b"\nX-Note: =?utf-8?q?"), id="continuation-as-field"),
        pytest.param(_once(b"Subject: =?utf-8", b"Subject: a\rb =?utf-8"), id="cr-in-subject"),
        pytest.param(_once(b"MIME-Version: 1.0", b"MIME-Version: 1.0\r"), id="cr-at-line-end"),
        pytest.param(
            _once(b"Subject: =?utf-8", b"Subject: =?iso-8859-1?q?a?= =?utf-8"),
            id="other-charset",
        ),
        pytest.param(
            _once(b"Subject: =?utf-8", b"Subject: =?utf-8?q?a=0AB?= =?utf-8"),
            id="encoded-line-break",
        ),
        pytest.param(_once(b"\n\n", b"\n"), id="no-blank-line"),
    ],
)
def test_verify_refuses_other_header_blocks(change: Callable[[bytes], bytes]) -> None:
    """Any header block but the exact shape build() writes stops the export."""
    block = header_block()
    changed = change(block)
    assert changed != block
    with pytest.raises(InternalError):
        verify(changed, TO, reply_to=True)


# -- Inlined includes ---------------------------------------------------------------------------


def test_simple_include_is_inlined() -> None:
    """An include of a plain template compiles to its text: no lookup at every letter."""
    env = LetterSandbox(loader=DictLoader(PARTS), undefined=StrictUndefined)
    inlined = env.compile("{% include 'part' %}", "t", raw=True)
    assert "_template(" not in inlined
    for left in (
        "{% include 'uses_loop' %}",  # an include does not see the caller's 'loop'
        "{% include 'part' ignore missing %}",
        "{% include 'part' without context %}",
        "{% include name %}",
        "{% autoescape true %}{% include 'part' %}{% endautoescape %}",
        "{% include 'own_autoescape' %}",
    ):
        assert "_template(" in env.compile(left, "t", raw=True), left


def render_error(sample: Campaign) -> pytest.ExceptionInfo[RenderError]:
    """What rendering the first letter to Congress raises."""
    job = Job(Options(sample.root, ".", sample.recipients, "recipients.csv"), NOW)
    recipient = next(
        r for r in map(job.prepare, job.rows()) if r.audience == "congress" and not r.problems
    )
    with pytest.raises(RenderError) as raised:
        job.render(recipient)
    return raised


def test_error_in_an_included_template_names_its_file_and_line(sample: Campaign) -> None:
    """Inlined or not, a failure inside an include is reported at the include's own line."""
    letters = sample.letters
    (letters / "_signature.txt.j2").write_text("Sincerely,\n\n{{ 1 / 0 }}\n")
    raised = render_error(sample)
    assert raised.value.where == "letters/_signature.txt.j2:3"
    assert raised.value.message == "division by zero"


def test_error_after_an_inlined_include_names_the_parent_line(sample: Campaign) -> None:
    """Lines after an inlined include keep their own numbers in the parent template."""
    template = sample.letters / "congress.txt.j2"
    lines = template.read_text().splitlines()
    lines.insert(2, "{{ recipient.title.nope() }}")
    template.write_text("\n".join(lines) + "\n")
    raised = render_error(sample)
    assert raised.value.where == "letters/congress.txt.j2:3"


# -- CSV records ---------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(",\"\r\n ab\t;'é") | st.characters(codec="utf-8")),
        min_size=2,
        max_size=12,
    )
)
def test_csv_record_is_what_csv_writer_writes(cells: list[str]) -> None:
    """The letters CSV's records, quoted by hand, byte for byte as csv.writer quotes them."""
    import csv
    import io

    from campaign.export import csv_record

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    assert csv_record(cells) == buffer.getvalue().encode("utf-8")


def test_unknown_filter_in_an_included_template_names_its_file(sample: Campaign) -> None:
    """A mistake that shows only once an include is compiled is reported where it is."""
    (sample.letters / "_signature.txt.j2").write_text("Sincerely,\n\n{{ campaign.signer|titel }}\n")
    raised = render_error(sample)
    assert raised.value.where == "letters/_signature.txt.j2:3"
    assert raised.value.message == "No filter named 'titel'."


def test_includes_nested_too_deeply_to_inline_still_render() -> None:
    """Inlining a chain of deeply nested includes would pass Python's nesting limit: the
    template is then compiled with real includes, as Jinja does, and renders the same."""
    depth = 40
    parts = {
        f"p{k}": "{% if true %}" * depth + f"{k}{{% include 'p{k + 1}' %}}" + "{% endif %}" * depth
        for k in range(8)
    }
    parts["p8"] = "end"
    fast = LetterSandbox(loader=DictLoader(parts), undefined=StrictUndefined)
    slow = ImmutableSandboxedEnvironment(loader=DictLoader(parts), undefined=StrictUndefined)
    assert fast.get_template("p0").render() == slow.get_template("p0").render() == "01234567end"


# -- Bounded caches ------------------------------------------------------------------------------


def test_caches_keep_only_what_is_small(sample: Campaign) -> None:
    """However long the values in a list, the caches behind the fast paths stay small."""
    from campaign import addressing, message

    header = "email,audience,title,first_name,last_name,office,agency,city_line\n"
    sample.write_recipients(
        header
        + f'a@dhs.example.org,dhs,Director,Ana,Ruiz,{"x" * 5_000},DHS,"Washington, DC"\n'
        + 'b@dhs.example.org,dhs,Director,Bo,Lee,1 Main St,DHS,"Washington, DC"\n'
    )
    job = Job(Options(sample.root, ".", sample.recipients, "recipients.csv"), NOW)
    addressing._address_tail.cache_clear()
    long_row, short_row = (job.prepare(row) for row in job.rows())
    assert not long_row.problems and not short_row.problems
    assert long_row.fields["address_block"].count("x") == 5_000
    assert addressing._address_tail.cache_info().currsize == 1  # the short row's only
    assert short_row.fields["address_block"] == (
        "The Honorable Bo Lee\nDirector\nDHS\n1 Main St\nWashington, DC"
    )

    room = message._QP_LINES.room
    huge = "é" * (room + 1)
    assert message._qp(huge) == message._qp(huge)
    assert huge not in message._QP_LINES
    assert message._QP_LINES.room == room


# -- The row's address check against email-validator -----------------------------------------

_IDN_LABELS = [
    "xn--bcher-kva",
    "bücher",
    "ß",
    "xn--zca",
    "一二三四五六七八九十" * 2,
    "ελληνικά",
    "café",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    local=st.one_of(
        st.sampled_from(["POSTMASTER", "Abuse", "WebMaster", "info", "Alex.Rivera"]),
        st.text("abcXYZ019.+-_", min_size=1, max_size=70),
    ),
    labels=st.lists(st.sampled_from(_IDN_LABELS), min_size=1, max_size=5),
)
def test_row_address_is_email_validators(sample: Campaign, local: str, labels: list[str]) -> None:
    """A row's To address is email-validator's ASCII form, or the row has its refusal: IDN
    domains, RFC 2142 names, local parts past 64 octets and addresses past 254."""
    from email_validator import EmailNotValidError, validate_email

    address = f"{local}@{'.'.join(labels)}.org"
    header = "email,audience,title,first_name,last_name,office,agency,city_line\n"
    sample.write_recipients(
        header + f'{address},dhs,Director,Ana,Ruiz,1 Main St,DHS,"Washington, DC"\n'
    )
    job = Job(Options(sample.root, ".", sample.recipients, "recipients.csv"), NOW)
    [recipient] = (job.prepare(row) for row in job.rows())
    try:
        expected = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        assert recipient.email == ""
        assert f"is not a valid address: {exc}" in " ".join(recipient.problems)
    else:
        assert recipient.email == expected.ascii_email
        assert not recipient.problems
