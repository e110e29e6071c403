"""The Jinja environments, the cite/quote/references helpers, and rendering one letter."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, nodes
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from campaign import limits
from campaign.errors import CampaignError
from campaign.fields import Record
from campaign.safety import LINE_BREAKS, describe
from campaign.sandbox import _DICT_ATTRIBUTES, FAST_CALLS, LetterSandbox
from campaign.settings import Campaign, Citation, Quote
from campaign.signatories import Signatories

_SUBJECT_BREAKS = re.compile("[" + re.escape("".join(LINE_BREAKS)) + "]")


class RenderError(CampaignError):
    """A template failed for one recipient; ``where`` is ``file:line`` in the template."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: error: {message}")


def _make_env(campaign: Campaign, html: bool, inline: bool = True) -> SandboxedEnvironment:
    # The sandbox keeps a shared or downloaded template from reaching Python internals;
    # FileSystemLoader refuses names with '..' or absolute paths, so templates stay in letters/.
    env = LetterSandbox(
        inline=inline,
        loader=FileSystemLoader(str(campaign.letters)),
        undefined=StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates do not change during a run: no stat() per include
    )
    env.add_filter("nl2br", _nl2br)
    return env


def _nl2br(value: str) -> Markup:
    """Escape, then turn line breaks into <br>: for address blocks in HTML letters."""
    return Markup("<br>\n").join(escape(line) for line in str(value).split("\n"))


def format_reference(number: int, citation: Citation) -> str:
    """'[1] Publisher, Title, OIG-10-63, March 2010, p. 4. URL'."""
    parts = [citation.publisher, citation.title, citation.number, citation.date]
    if citation.page:
        parts.append(f"p. {citation.page}")
    return f"[{number}] " + ", ".join(parts) + f". {citation.url}"


def format_quote(quote: Quote) -> str:
    return f"\u201c{quote.text}\u201d \u2014 {quote.attribution}"


class Sources:
    """A campaign's citations and quotes, with what they render to worked out once."""

    def __init__(self, citations: dict[str, Citation], quotes: dict[str, Quote], html: bool):
        self.citations = citations
        self.html = html
        self.quotes: dict[str, str] = {
            key: _quote_html(q) if html else format_quote(q) for key, q in quotes.items()
        }
        self._references: dict[tuple[str, ...], str] = {}

    def references(self, order: tuple[str, ...]) -> str:
        """The reference list for keys cited in this order (a few orders per campaign)."""
        found = self._references.get(order)
        if found is None:
            if self.html:
                items = [_reference_html(n, self.citations[k]) for n, k in enumerate(order, 1)]
                # Each item carries its own [n]: the list shows no numbers of its own.
                found = Markup(
                    '<ol class="references" style="list-style: none; padding-left: 0">{}</ol>'
                ).format(Markup("").join(items))
            else:
                found = "\n".join(
                    format_reference(n, self.citations[k]) for n, k in enumerate(order, 1)
                )
            self._references[order] = found
        return found


def _quote_html(q: Quote) -> str:
    return Markup(
        "<blockquote><p>\u201c{text}\u201d</p><footer>\u2014 {who}</footer></blockquote>"
    ).format(text=q.text, who=q.attribution)


def _reference_html(number: int, c: Citation) -> str:
    page = Markup(", p. {}").format(c.page) if c.page else ""
    return Markup(
        '<li id="ref-{n}">[{n}] {pub}, <cite>{title}</cite>, {num}, {date}{page}. '
        '<a href="{url}">{url}</a></li>'
    ).format(
        n=number, pub=c.publisher, title=c.title, num=c.number, date=c.date, page=page, url=c.url
    )


class Footnotes:
    """Per-letter state behind cite(), references() and quote(): numbers in order of first use."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.order: dict[str, int] = {}

    def cite(self, key: str) -> str:
        if key not in self.sources.citations:
            raise CampaignError(f"cite({key!r}): no such citation in citations.toml")
        number = self.order.setdefault(key, len(self.order) + 1)
        return f"[{number}]"

    def references(self) -> str:
        return self.sources.references(tuple(self.order))

    def quote(self, key: str) -> str:
        found = self.sources.quotes.get(key)
        if found is None:
            raise CampaignError(f"quote({key!r}): no such quote in quotes.toml")
        return found


_SUBJECT_CACHE = 4_096
_SUBJECT_KEY = 300  # characters of field values: a subject made of longer ones is not kept
# The names a subject may use and still be worked out once per distinct set of field values:
# the render context, whose other entries are the same for every letter of a run.
_CONTEXT = {"recipient", "campaign", "date", "citations", "cite", "references", "quote"}


def _only_fields(tree: nodes.Template) -> tuple[str, ...] | None:
    """The recipient fields a template reads, when its output depends on nothing else that
    changes from letter to letter; None when it may (the whole recipient, Jinja globals such
    as lipsum(), the random filter, other templates)."""
    if any(tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))):
        return None
    if any(f.name == "random" for f in tree.find_all(nodes.Filter)) or any(
        c.value == "random"
        for c in tree.find_all(nodes.Const)  # map('random')
    ):
        return None
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    loaded = [n for n in tree.find_all(nodes.Name) if n.ctx == "load"]
    if any(n.name not in _CONTEXT and n.name not in stored for n in loaded):
        return None
    if "recipient" in stored:
        return None
    fields: dict[str, None] = {}
    reads = 0
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == "recipient"):
            continue
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            name = node.arg.value
        else:
            return None  # recipient[some_expression]
        if name in _DICT_ATTRIBUTES:
            return None  # recipient.items: the dict itself
        fields[name] = None
        reads += 1
    # Every use of the recipient must be one of the field reads counted above.
    if reads != sum(1 for n in loaded if n.name == "recipient"):
        return None
    return tuple(fields)


FAST_CALLS.update((Footnotes.cite, Footnotes.references, Footnotes.quote))


@dataclass(frozen=True)
class Letter:
    text: str
    html: str | None
    cited: tuple[str, ...]


class Renderer:
    """Compiled templates for every audience of one campaign."""

    def __init__(self, campaign: Campaign, signatories: Signatories | None = None) -> None:
        self.campaign = campaign
        # letters/signatories.csv: `signatories` and `signatory_list()` in every template.
        self.signatories = Signatories() if signatories is None else signatories
        self._signatory_list = {
            False: self.signatories.text_block,
            True: self.signatories.html_block,
        }
        self.text_env = _make_env(campaign, html=False)
        self.html_env = _make_env(campaign, html=True)
        # Jinja's globals (range, dict, namespace, ...) are merged into each letter's context
        # here, so rendering can share that dict instead of copying a ChainMap per template.
        self._globals = dict(self.text_env.globals)
        self.text_sources = Sources(campaign.citations, campaign.quotes, html=False)
        self.html_sources = Sources(campaign.citations, campaign.quotes, html=True)
        self._subjects: dict[str, Template] = {}
        self._uninlined: dict[bool, SandboxedEnvironment] = {}  # to locate errors: see _run
        # Subjects made only from a few recipient fields, by those fields' values.
        self._subject_fields: dict[str, tuple[str, ...] | None] = {}
        self._subject_cache: dict[tuple[str | None, ...], str] = {}
        self._texts: dict[str, Template] = {}
        self._htmls: dict[str, Template] = {}
        # Read by name only: a setting or citation called 'items' is that setting.
        self._settings = Record(campaign.settings, "campaign")
        self._citations = Record(campaign.citations, "citations")

    def compile(self, audience: str) -> None:
        """Load an audience's templates; raises TemplateError subclasses for the caller."""
        spec = self.campaign.audiences[audience]
        # The subject's own line breaks (a TOML multi-line string) are layout, collapsed into
        # spaces as before; a line break that an expression renders is an error (subject()).
        self._subjects[audience] = self.text_env.from_string(_SUBJECT_BREAKS.sub(" ", spec.subject))
        self._subject_fields[audience] = _only_fields(self.text_env.parse(spec.subject))
        self._texts[audience] = self.text_env.get_template(spec.template)
        if spec.html_template:
            self._htmls[audience] = self.html_env.get_template(spec.html_template)

    def ready(self, audience: str) -> bool:
        return audience in self._texts

    def _context(self, recipient: dict[str, str], date: str, notes: Footnotes) -> dict[str, Any]:
        if type(recipient) is not Record:
            recipient = Record(recipient, blanks=True)
        return {
            **self._globals,
            "recipient": recipient,
            "campaign": self._settings,
            "date": date,
            "citations": self._citations,
            "cite": notes.cite,
            "references": notes.references,
            "quote": notes.quote,
            "signatories": self.signatories,
            "signatory_list": self._signatory_list[notes.sources.html],
        }

    def subject(self, audience: str, recipient: dict[str, str], date: str) -> str:
        fields = self._subject_fields.get(audience)
        key = None
        if fields is not None:
            key = (audience, date, *[recipient.get(name) for name in fields])
            found = self._subject_cache.get(key)
            if found is not None:
                return found
        notes = Footnotes(self.text_sources)
        line = self.campaign.audiences[audience].subject_line
        where = f"{self.campaign.settings_file.display}:{line}"
        text = self._run(
            self._subjects[audience], self._context(recipient, date, notes), where=where
        )
        # A line break an expression, a filter or an include renders would end the header:
        # refused, never cleaned.
        if breaks := _SUBJECT_BREAKS.search(text):
            raise RenderError(
                where,
                f"the subject of audience {audience!r} renders with {describe(breaks.group())} "
                f"(as {text[:60]!r}): a subject is one line; remove the line break",
            )
        subject = " ".join(text.split())
        if (
            key is not None
            and len(self._subject_cache) < _SUBJECT_CACHE
            and sum(len(value or "") for value in key) <= _SUBJECT_KEY
        ):
            self._subject_cache[key] = subject
        return subject

    def letter(
        self, audience: str, recipient: dict[str, str], date: str, with_html: bool = True
    ) -> Letter:
        notes = Footnotes(self.text_sources)
        text = self._run(
            self._texts[audience],
            self._context(recipient, date, notes),
            lambda: self._context(recipient, date, Footnotes(self.text_sources)),
        )
        html = None
        if with_html and audience in self._htmls:
            html_notes = Footnotes(self.html_sources)
            html = self._run(
                self._htmls[audience],
                self._context(recipient, date, html_notes),
                lambda: self._context(recipient, date, Footnotes(self.html_sources)),
            )
        return Letter(text, html, tuple(notes.order))

    def _run(
        self,
        template: Template,
        context: dict[str, Any],
        again: Callable[[], dict[str, Any]] | None = None,
        where: str | None = None,
    ) -> str:
        """Render; a failure is a RenderError at ``where``, or at the template's file:line.

        ``again`` gives a fresh context. A letter that fails with includes inlined is rendered
        once more as Jinja would, includes and all, and that render has the last word: only
        its line numbers name the file an error is in.
        """
        env = template.environment
        if not (isinstance(env, LetterSandbox) and env.inline and again and template.name):
            return self._render(template, context, where, again)
        try:
            return self._render(template, context, where)
        except RenderError:
            pass
        html = bool(env.autoescape)
        plain_env = self._uninlined.get(html)
        if plain_env is None:
            plain_env = self._uninlined[html] = _make_env(self.campaign, html, inline=False)
        return self._render(plain_env.get_template(template.name), again(), where, again)

    def _render(
        self,
        template: Template,
        context: dict[str, Any],
        where: str | None,
        again: Callable[[], dict[str, Any]] | None = None,
    ) -> str:
        env = template.environment
        if isinstance(env, LetterSandbox):
            env.budget = limits.Budget()  # what this one letter may still cost
        try:
            try:
                # What Template.render() does, less its copy of the context and globals.
                chunks = template.root_render_func(template.new_context(context, True))
                if not isinstance(env, LetterSandbox):
                    return "".join(chunks)
                try:
                    return limits.join_output(chunks, env.budget)
                except limits.LetterTooLong as exc:
                    frame = getattr(chunks, "gi_frame", None)  # where the template was writing
                    if frame is None and again is not None:
                        # It had finished: render it again, a chunk at a time, to find where.
                        env.budget = limits.Budget()
                        again_chunks = template.root_render_func(
                            template.new_context(again(), True)
                        )
                        frame = limits.overflow_frame(again_chunks)
                    if frame is not None:
                        exc.line = template.get_corresponding_lineno(frame.f_lineno)
                    raise
            except Exception:
                template.environment.handle_exception()  # re-raised with template lines
        except (TemplateError, CampaignError, ValueError, TypeError, ArithmeticError) as exc:
            location = where or self._location(exc, template)
            message = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
            raise RenderError(location, message) from None
        except MemoryError:
            # The limits keep a letter far below this; should one still get here, it is the
            # template's to fix, at its line.
            location = where or self._display(template)
            raise RenderError(location, "the letter needs more memory than there is") from None
        except (LookupError, AssertionError, RecursionError) as exc:
            # What a template's own code can raise ({{ {}.pop("x") }}, endless macro recursion).
            location = where or self._location(exc, template)
            raise RenderError(location, f"{type(exc).__name__}: {exc}") from None

    def _display(self, template: Template) -> str:
        return f"{self.campaign.display}/{template.name}"

    def _location(self, exc: BaseException, template: Template) -> str:
        """The template file:line an error was raised at, from Jinja's rewritten traceback."""
        if isinstance(exc, limits.LetterTooLong) and exc.line:
            return f"{self._display(template)}:{exc.line}"
        root = str(self.campaign.letters)
        found = self._display(template)
        tb = exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.startswith(root):
                relative = filename[len(root) :].lstrip("/")
                found = f"{self.campaign.display}/{relative}:{tb.tb_lineno}"
            tb = tb.tb_next
        return found


__all__ = ["Footnotes", "Letter", "RenderError", "Renderer", "Sources"]
