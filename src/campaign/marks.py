"""Letters with their sources marked, for the preview pages: the words that came from the
recipients file, citation markers, quotes and the reference list."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from campaign.render import Footnotes, Letter, Renderer, RenderError
from campaign.settings import Campaign
from campaign.templates import COMPUTED_FROM

# Private-use characters around each marked value in a rendered letter. A letter whose own
# text holds them (or a template that moves a value into an attribute) is shown unmarked:
# the marked render, markers taken out, must be exactly the real letter.
START, MID, END = "\ue000", "\ue001", "\ue002"
_TOKEN = re.compile("\ue000(\\d{1,6})\ue001|\ue002")
_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)
_RAW_OPEN = re.compile(r"<(script|style|title|textarea)\b", re.IGNORECASE)
_REFERENCE = re.compile(r"^\[(\d{1,4})\] ")
_URL = re.compile(r"https?://(?:[^\s<>&]|&amp;)+")  # in escaped text


@dataclass(frozen=True)
class Mark:
    """Where a marked value came from: kind is field, computed, cite, quote or references."""

    kind: str
    name: str
    parts: tuple[tuple[str, str], ...] = ()  # a computed value's columns: (name, value)


class _Value(str):
    """A string that knows where it came from; to templates it is its text."""

    mark: Mark
    safe: bool

    def __new__(cls, text: str, mark: Mark, safe: bool = False) -> _Value:
        value = super().__new__(cls, text)
        value.mark = mark
        value.safe = safe
        return value


@dataclass(frozen=True)
class QuoteState:
    """Whether a quote was found in its source_file: verified, differs or unchecked."""

    state: str
    note: str


class MarkedRenderer(Renderer):
    """The campaign's renderer, with every recipient field, citation and quote marked."""

    def __init__(self, campaign: Campaign, columns: tuple[str, ...]) -> None:
        super().__init__(campaign)
        self.columns = frozenset(columns)
        self._local = threading.local()
        self.text_env.finalize = self._finalize_text
        self.html_env.finalize = self._finalize_html
        plain_nl2br = self.html_env.filters["nl2br"]

        def nl2br(value: Any) -> Any:
            shown = plain_nl2br(value)
            return _Value(shown, value.mark, True) if isinstance(value, _Value) else shown

        self.html_env.filters["nl2br"] = nl2br

    def _marks(self) -> list[Mark]:
        found: list[Mark] | None = getattr(self._local, "marks", None)
        if found is None:
            found = self._local.marks = []
        return found

    def _finalize_text(self, value: Any) -> Any:
        if isinstance(value, _Value):
            marks = self._marks()
            marks.append(value.mark)
            return f"{START}{len(marks) - 1}{MID}{value!s}{END}"
        return value

    def _finalize_html(self, value: Any) -> Any:
        if isinstance(value, _Value):
            marks = self._marks()
            marks.append(value.mark)
            inner = Markup(str(value)) if value.safe else escape(str(value))
            return Markup(f"{START}{len(marks) - 1}{MID}") + inner + Markup(END)
        return value

    def _context(self, recipient: dict[str, str], date: str, notes: Footnotes) -> dict[str, Any]:
        context = super()._context(recipient, date, notes)
        marked: dict[str, str] = {}
        for name, value in recipient.items():
            given = name in self.columns and (name not in COMPUTED_FROM or value.strip())
            if given:
                marked[name] = _Value(value, Mark("field", name))
                continue
            parts = tuple(
                (column, recipient[column])
                for column in COMPUTED_FROM.get(name, ())
                if column in self.columns and len(recipient.get(column, "").strip()) >= 2
            )
            marked[name] = _Value(value, Mark("computed", name, parts))

        def cite(key: str) -> str:
            shown = notes.cite(key)
            return _Value(shown, Mark("cite", shown.strip("[]")))

        def quote(key: str) -> str:
            shown = notes.quote(key)
            return _Value(shown, Mark("quote", key), isinstance(shown, Markup))

        def references() -> str:
            shown = notes.references()
            return _Value(shown, Mark("references", ""), isinstance(shown, Markup))

        context.update(recipient=marked, cite=cite, quote=quote, references=references)
        return context

    def marked(
        self, audience: str, recipient: dict[str, str], date: str
    ) -> tuple[Letter, list[Mark]] | None:
        """The letter with markers in, and the marks they index; None if it does not render."""
        self._local.marks = []
        try:
            return self.letter(audience, recipient, date), self._local.marks
        except RenderError:
            return None
        finally:
            self._local.marks = None


def strip(marked: str) -> str:
    """The letter as it really is: markers taken out."""
    return _TOKEN.sub("", marked)


class Marker:
    """Turns a marked letter into HTML: spans for fields, links for citations, quote badges."""

    def __init__(self, marks: list[Mark], quotes: dict[str, QuoteState], prefix: str) -> None:
        self.marks = marks
        self.quotes = quotes
        self.prefix = prefix  # of reference ids, so two parts on one page keep theirs apart

    def text(self, marked: str, real: str) -> Markup | None:
        """A plain-text letter as HTML (escaped; pre-wrapped by the page's style)."""
        if strip(marked) != real:
            return None
        escaped = str(escape(marked))
        return self._join(escaped, [True] * len(escaped), text=True)

    def html(self, marked: str, real: str) -> Markup | None:
        """An HTML part's body, marked where a value is text (not inside a tag or a script)."""
        if strip(marked) != real:
            return None
        in_text = [True] * len(marked)
        raw_end: str | None = None
        raw_start = 0
        for tag in _TAG.finditer(marked):
            if raw_end is not None:
                if tag.group().lower().startswith(raw_end):
                    in_text[raw_start : tag.end()] = [False] * (tag.end() - raw_start)
                    raw_end = None
                continue
            in_text[tag.start() : tag.end()] = [False] * (tag.end() - tag.start())
            opened = _RAW_OPEN.match(tag.group())
            if opened and not tag.group().endswith("/>"):
                raw_end, raw_start = f"</{opened.group(1).lower()}", tag.end()
        if raw_end is not None:
            in_text[raw_start:] = [False] * (len(marked) - raw_start)
        return self._join(marked, in_text, text=False)

    def _join(self, source: str, in_text: list[bool], text: bool) -> Markup | None:
        tokens = list(_TOKEN.finditer(source))
        pairs: dict[int, int] = {}
        stack: list[int] = []
        for i, token in enumerate(tokens):
            if token.group(1) is not None:
                stack.append(i)
            elif not stack:
                return None
            else:
                pairs[stack.pop()] = i
        if stack or any(
            int(tokens[i].group(1)) >= len(self.marks) for i in pairs
        ):  # unbalanced, or not ours
            return None
        keep = {
            i for i, j in pairs.items() if in_text[tokens[i].start()] and in_text[tokens[j].start()]
        }
        closers: dict[int, str] = {}
        out: list[str] = []
        done = 0
        skip_to = -1
        for i, token in enumerate(tokens):
            if token.start() < skip_to:
                continue
            out.append(source[done : token.start()])
            done = token.end()
            if i in keep:
                mark = self.marks[int(token.group(1))]
                j = pairs[i]
                if text and mark.kind == "references" and pairs[i] == i + 1:
                    inner = source[token.end() : tokens[j].start()]
                    out.append(self._references(inner))
                    done = tokens[j].end()
                    skip_to = done
                    continue
                opening, closing = self._tags(mark)
                out.append(opening)
                closers[j] = closing
                if mark.parts and j == i + 1:
                    out.append(self._parts(source[token.end() : tokens[j].start()], mark.parts))
                    done = tokens[j].start()
                    skip_to = done
            elif i in closers:
                out.append(closers.pop(i))
        out.append(source[done:])
        return Markup("".join(out))

    def _tags(self, mark: Mark) -> tuple[str, str]:
        name = str(escape(mark.name))
        if mark.kind == "cite":
            return f'<a class="cite" href="#{self.prefix}ref-{name}">', "</a>"
        if mark.kind == "quote":
            state = self.quotes.get(mark.name, QuoteState("unchecked", "not checked"))
            label = {"verified": "\u2713 verified", "differs": "\u2717 differs from source"}
            badge = label.get(state.state, "not verified")
            return (
                f'<span class="quote {state.state}" title="quote {name}: {escape(state.note)}">',
                f'</span> <span class="badge {state.state}">{badge}</span>',
            )
        if mark.kind == "references":
            return '<span class="references">', "</span>"
        if mark.kind == "computed":
            sources = ", ".join(COMPUTED_FROM.get(mark.name, (mark.name,)))
            return (
                f'<span class="field computed" data-field="{name}" '
                f'title="computed: {name}, from {escape(sources)}">',
                "</span>",
            )
        return f'<span class="field" data-field="{name}" title="recipients file: {name}">', (
            "</span>"
        )

    def _parts(self, inner: str, parts: tuple[tuple[str, str], ...]) -> str:
        """Inside a computed value, the columns it was made from, where their text shows."""
        by_text = {str(escape(value)): column for column, value in parts}
        pattern = re.compile("|".join(re.escape(t) for t in sorted(by_text, key=len, reverse=True)))
        out = []
        done = 0
        for tag in [*_TAG.finditer(inner), None]:
            end = tag.start() if tag is not None else len(inner)
            out.append(
                pattern.sub(
                    lambda m: (
                        f'<span class="field" data-field="{escape(by_text[m.group()])}" '
                        f'title="recipients file: {escape(by_text[m.group()])}">{m.group()}</span>'
                    ),
                    inner[done:end],
                )
            )
            if tag is not None:
                out.append(tag.group())
                done = tag.end()
        return "".join(out)

    def _references(self, inner: str) -> str:
        """The text reference list, each entry an anchor its markers link to."""
        lines = []
        for line in inner.split("\n"):
            found = _REFERENCE.match(line)
            linked = _URL.sub(lambda m: f'<a href="{m.group()}">{m.group()}</a>', line)
            if found:
                number = found.group(1)
                linked = f'<span class="reference" id="{self.prefix}ref-{number}">{linked}</span>'
            lines.append(linked)
        return '<span class="references">' + "\n".join(lines) + "</span>"


__all__ = ["Mark", "MarkedRenderer", "Marker", "QuoteState", "strip"]
