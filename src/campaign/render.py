"""The Jinja environments, the cite/quote/references helpers, and rendering one letter."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, fields
from types import MethodType
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, nodes
from jinja2.exceptions import TemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, escape

from campaign.errors import CampaignError
from campaign.settings import Campaign, Citation, Quote
from campaign.signatories import Signatories


class RenderError(CampaignError):
    """A template failed for one recipient; ``where`` is ``file:line`` in the template."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: error: {message}")


# Every attribute a dict has: ``recipient.title`` names a key only when it names none of these.
_DICT_ATTRIBUTES = frozenset(dir(dict))
_CITATION_FIELDS = frozenset(f.name for f in fields(Citation))


class LetterSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, with shortcuts for what every letter does many times.

    The immutable sandbox: a template cannot change a list or dict it is given (the campaign
    settings, the citations, the recipient), so one letter cannot change the next.

    Each shortcut returns what the sandbox itself would, only sooner; anything else goes
    through the sandbox's own checks. Tests compare both on the sample and on hostile templates.
    """

    def __init__(self, inline: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.inline = inline
        self._loaded: dict[tuple[str, str | None], Template] = {}

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Jinja turns a parsed template into Python here: includes are inlined first.
        if self.inline:
            source = _Inliner(self, name, (name,) if name else ()).visit(source)
        return super()._generate(source, name, filename, defer_init)

    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        jinja_compile: Callable[..., Any] = super().compile  # one signature for its overloads
        try:
            return jinja_compile(source, name, filename, raw, defer_init)
        except (TemplateError, SyntaxError, RecursionError):
            if not (self.inline and isinstance(source, str)):
                raise
        # What inlining brought to light (an unknown filter in an included file, or code
        # nested too deeply once joined) is the include's to report, when it runs, with its
        # own file and line: compile the template as Jinja would.
        self.inline = False
        try:
            return jinja_compile(source, name, filename, raw, defer_init)
        finally:
            self.inline = True

    def getattr(self, obj: Any, attribute: str) -> Any:
        kind = type(obj)
        # ``recipient.title``: the sandbox would look for a dict attribute of that name, fail
        # (an exception each time), then read the key. No dict attribute has the name here.
        if kind is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        # ``citations["oig-10-63"].excerpt``: a field of our own frozen record, plain data,
        # which the sandbox would allow after checking the name and the value's type.
        if kind is Citation and attribute in _CITATION_FIELDS:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def call(
        __self,  # Jinja's own signature: a keyword argument may be called 'self'
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # cite(), quote() and references(): our own methods, which take no context and are
        # safe to call; the sandbox would check both through several getattr() calls.
        if type(__obj) is MethodType and __obj.__func__ in _HELPERS:
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A plain dict, not Jinja's ChainMap: each template context copies its keys, and a
        # dict copies much faster. Globals never change once the templates are loaded.
        return {**self.globals, **(d or {})}

    def get_template(
        self,
        name: str | Template,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> Template:
        # Each {% include %} asks again; templates never change during a run (no auto_reload).
        if globals is not None or not isinstance(name, str):
            return super().get_template(name, parent, globals)
        found = self._loaded.get((name, parent))
        if found is None:
            found = self._loaded[name, parent] = super().get_template(name, parent)
        return found


# What an included template may not hold to be inlined: blocks and imports belong to a
# template of their own, autoescape blocks change how an include escapes, and these names mean
# something else inside an include than where it is written.
_OWN_TEMPLATE = (
    nodes.Block,
    nodes.Extends,
    nodes.Import,
    nodes.FromImport,
    nodes.EvalContextModifier,
)
_OWN_NAMES = {"self", "super", "loop", "caller", "varargs", "kwargs"}
_INLINE_DEPTH = 8


class _Inliner(NodeTransformer):
    """Replace each ``{% include "name" %}`` with the included template's body, in a scope.

    An include costs a template lookup, a new context and a generator at every letter; the
    inlined body renders the same text (its ``{% set %}`` stays inside, as in an include).
    Anything unusual is left an include: a computed name, ``ignore missing`` or ``without
    context``, a template that cannot be read, that uses blocks, imports or the names above,
    that reads a name the including template sets, a parent with autoescape blocks, and
    cycles. The line numbers inside an inlined body are its own file's, so a letter that fails
    is rendered again with real includes (Renderer._run), and that render has the last word.
    """

    def __init__(self, env: LetterSandbox, name: str | None, stack: tuple[str, ...]) -> None:
        self.env = env
        self.name = name
        self.stack = stack
        self.assigned: set[str] = set()

    def visit_Template(self, node: nodes.Template) -> nodes.Node:
        if any(node.find_all(nodes.EvalContextModifier)):
            return node
        self.assigned = _assigned(node)
        return self.generic_visit(node)

    def visit_Include(self, node: nodes.Include) -> nodes.Node:
        template = node.template
        if not (
            isinstance(template, nodes.Const)
            and isinstance(template.value, str)
            and node.with_context
            and not node.ignore_missing
            and len(self.stack) < _INLINE_DEPTH
            and self.env.loader is not None
        ):
            return node
        target = self.env.join_path(template.value, self.name or "")
        if target in self.stack:
            return node
        try:
            source, filename, _ = self.env.loader.get_source(self.env, target)
            tree = self.env._parse(source, target, filename)
        except (TemplateError, OSError, ValueError):
            return node  # the include fails at render time, with its own message
        if any(tree.find_all(_OWN_TEMPLATE)) or any(
            n.name in _OWN_NAMES for n in tree.find_all(nodes.Name)
        ):
            return node
        _Inliner(self.env, target, (*self.stack, target)).visit(tree)
        read = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
        if read & self.assigned:
            # The including template sets a name the included one reads: where that comes
            # after the include, Jinja's scoping would see the inlined read as unset.
            return node
        return nodes.Scope(tree.body, lineno=node.lineno)


def _assigned(tree: nodes.Template) -> set[str]:
    """Every name a template sets anywhere: set, for, with, macro arguments, macros, imports."""
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    names.update(m.name for m in tree.find_all(nodes.Macro))
    names.update(i.target for i in tree.find_all(nodes.Import))
    for imported in tree.find_all(nodes.FromImport):
        names.update(n if isinstance(n, str) else n[1] for n in imported.names)
    return names


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
    env.filters["nl2br"] = _nl2br
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


_HELPERS = frozenset((Footnotes.cite, Footnotes.references, Footnotes.quote))


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

    def compile(self, audience: str) -> None:
        """Load an audience's templates; raises TemplateError subclasses for the caller."""
        spec = self.campaign.audiences[audience]
        self._subjects[audience] = self.text_env.from_string(spec.subject)
        self._subject_fields[audience] = _only_fields(self.text_env.parse(spec.subject))
        self._texts[audience] = self.text_env.get_template(spec.template)
        if spec.html_template:
            self._htmls[audience] = self.html_env.get_template(spec.html_template)

    def ready(self, audience: str) -> bool:
        return audience in self._texts

    def _context(self, recipient: dict[str, str], date: str, notes: Footnotes) -> dict[str, Any]:
        return {
            **self._globals,
            "recipient": recipient,
            "campaign": self.campaign.settings,
            "date": date,
            "citations": self.campaign.citations,
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
            return self._render(template, context, where)
        try:
            return self._render(template, context, where)
        except RenderError:
            pass
        html = bool(env.autoescape)
        plain_env = self._uninlined.get(html)
        if plain_env is None:
            plain_env = self._uninlined[html] = _make_env(self.campaign, html, inline=False)
        return self._render(plain_env.get_template(template.name), again(), where)

    def _render(self, template: Template, context: dict[str, Any], where: str | None) -> str:
        try:
            try:
                # What Template.render() does, less its copy of the context and globals.
                return "".join(template.root_render_func(template.new_context(context, True)))
            except Exception:
                template.environment.handle_exception()  # re-raised with template lines
        except (TemplateError, CampaignError, ValueError, TypeError, ArithmeticError) as exc:
            location = where or self._location(exc, template)
            message = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
            raise RenderError(location, message) from None
        except (LookupError, AssertionError, RecursionError) as exc:
            # What a template's own code can raise ({{ {}.pop("x") }}, endless macro recursion).
            location = where or self._location(exc, template)
            raise RenderError(location, f"{type(exc).__name__}: {exc}") from None

    def _location(self, exc: BaseException, template: Template) -> str:
        """The template file:line an error was raised at, from Jinja's rewritten traceback."""
        root = str(self.campaign.letters)
        found = f"{self.campaign.display}/{template.name}"
        tb = exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.startswith(root):
                relative = filename[len(root) :].lstrip("/")
                found = f"{self.campaign.display}/{relative}:{tb.tb_lineno}"
            tb = tb.tb_next
        return found


__all__ = ["Footnotes", "Letter", "RenderError", "Renderer", "Sources"]
