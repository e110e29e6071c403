"""Static checks of the templates: syntax, includes, and every name and key they use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import TemplateNotFound, nodes
from jinja2.exceptions import TemplateSyntaxError

from campaign.errors import Problems, did_you_mean
from campaign.render import Renderer
from campaign.settings import Campaign

# What a template may use besides recipient.*, campaign.*: the render context's other names.
CONTEXT_NAMES = {"recipient", "campaign", "date", "citations", "cite", "references", "quote"}
COMPUTED_FIELDS = ("full_name", "salutation", "address_block", "constituency")
# The columns each computed field is made from: a subject that uses the field puts them in a
# header, so they are held to the header rules as if the subject used them directly.
COMPUTED_FROM = {
    "full_name": ("full_name", "first_name", "last_name"),
    "salutation": ("salutation", "salutation_title", "title", "last_name"),
    "constituency": ("state", "district", "title"),
    "address_block": (
        "address_block",
        "full_name",
        "first_name",
        "last_name",
        "title",
        "office",
        "agency",
        "city_line",
        "zip",
    ),
}


@dataclass
class Uses:
    """What one audience's templates reach for, each with the file:line of its first use."""

    fields: dict[str, tuple[str, int]] = field(default_factory=dict)
    subject_fields: dict[str, tuple[str, int]] = field(default_factory=dict)
    settings: dict[str, tuple[str, int]] = field(default_factory=dict)
    cites: dict[str, tuple[str, int]] = field(default_factory=dict)
    quotes: dict[str, tuple[str, int]] = field(default_factory=dict)
    ok: bool = True

    @property
    def header_columns(self) -> list[str]:
        """Every column whose text can reach the Subject header, computed fields' sources too."""
        found: dict[str, None] = {}
        for name in self.subject_fields:
            for column in COMPUTED_FROM.get(name, (name,)):
                found[column] = None
        return list(found)


def _attribute_uses(tree: nodes.Template, name: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == name):
            continue
        if isinstance(node, nodes.Getattr):
            found.append((node.attr, node.lineno))
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.append((node.arg.value, node.lineno))
    return found


# What changes a list, dict or set in place: Jinja's immutable sandbox refuses it when a letter
# is rendered; check says so first.
_MUTATORS = frozenset(
    {
        *("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"),  # list
        *("update", "setdefault", "popitem"),  # dict
        *("add", "discard", "difference_update", "intersection_update"),  # set
        "symmetric_difference_update",
    }
)


def _mutations(tree: nodes.Template) -> list[tuple[str, int]]:
    """Calls of a method that changes a list, dict or set, with their lines."""
    found = []
    for call in tree.find_all(nodes.Call):
        assert isinstance(call, nodes.Call)
        if isinstance(call.node, nodes.Getattr) and call.node.attr in _MUTATORS:
            found.append((call.node.attr, call.lineno))
    return found


def _helper_keys(tree: nodes.Template, helper: str) -> list[tuple[str | None, int]]:
    found: list[tuple[str | None, int]] = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == helper:
            arg = call.args[0] if call.args else None
            key = arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None
            found.append((key, call.lineno))
    return found


class TemplateChecker:
    """Parses each template once and reports problems with the file and line."""

    def __init__(self, campaign: Campaign, renderer: Renderer) -> None:
        self.campaign = campaign
        self.env = renderer.text_env
        self.problems = Problems()
        self._trees: dict[str, nodes.Template | None] = {}
        self._cycles: set[tuple[str, ...]] = set()
        self._root = campaign.letters.resolve()

    @property
    def parsed(self) -> dict[str, nodes.Template]:
        """Every template read so far (includes too), by name: for checks of other modules."""
        return {name: tree for name, tree in self._trees.items() if tree is not None}

    def _inside(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self._root)

    def _display(self, name: str) -> str:
        return f"{self.campaign.display}/{name}"

    def _parse(self, name: str, where: tuple[str, int]) -> nodes.Template | None:
        if name in self._trees:
            return self._trees[name]
        tree: nodes.Template | None = None
        try:
            source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except TemplateNotFound:
            self.problems.error(
                where[0],
                where[1],
                f"template '{name}' not found in {self.campaign.display}/ "
                "(templates must be files inside letters/)",
            )
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            self.problems.error(
                self._display(name), line, f"not valid UTF-8 ({exc.reason}): is it a template?"
            )
        except OSError as exc:
            self.problems.error(where[0], where[1], f"cannot read template '{name}': {exc}")
        else:
            if filename is not None and not self._inside(Path(filename)):
                # A link in letters/ to a file elsewhere would put that file in every letter.
                self.problems.error(
                    where[0],
                    where[1],
                    f"template '{name}' leads outside {self.campaign.display}/ (a link?): "
                    "templates must be files inside letters/",
                )
                self._trees[name] = None
                return None
            try:
                tree = self.env.parse(source, name=name, filename=self._display(name))
                for method, line in _mutations(tree):
                    self.problems.error(
                        self._display(name),
                        line,
                        f"{method}() would change a list or dict in place, which templates may "
                        "not do (one letter must not change the next): build the value with a "
                        "filter, e.g. {{ (names + [name])|join(', ') }}, or a namespace()",
                    )
            except TemplateSyntaxError as exc:
                self.problems.error(self._display(name), exc.lineno, f"syntax: {exc.message}")
            except RecursionError:
                self.problems.error(self._display(name), 1, "syntax: nested too deeply to read")
        self._trees[name] = tree
        return tree

    def _collect(self, name: str, where: tuple[str, int], uses: Uses, stack: list[str]) -> None:
        if name in stack:
            loop = [*stack[stack.index(name) :], name]
            uses.ok = False
            # One report per cycle, however many audiences or entry points reach it.
            start = loop.index(min(loop[:-1]))
            key = tuple(loop[start:-1] + loop[:start])
            if key not in self._cycles:
                self._cycles.add(key)
                cycle = " -> ".join(loop)
                self.problems.error(where[0], where[1], f"templates include each other: {cycle}")
            return
        tree = self._parse(name, where)
        if tree is None:
            uses.ok = False
            return
        self._gather(tree, self._display(name), uses, uses.fields)
        for node in tree.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
            assert isinstance(node, nodes.Include | nodes.Extends | nodes.Import | nodes.FromImport)
            child = node.template
            if isinstance(child, nodes.Const) and isinstance(child.value, str):
                self._collect(child.value, (self._display(name), node.lineno), uses, [*stack, name])
            else:
                self.problems.error(
                    self._display(name),
                    node.lineno,
                    "include/extends needs a literal template name so it can be checked",
                )
                uses.ok = False

    def _gather(
        self,
        tree: nodes.Template,
        display: str,
        uses: Uses,
        fields: dict[str, tuple[str, int]],
    ) -> None:
        for attr, line in _attribute_uses(tree, "recipient"):
            fields.setdefault(attr, (display, line))
        for attr, line in _attribute_uses(tree, "campaign"):
            uses.settings.setdefault(attr, (display, line))
        for helper, table in (("cite", uses.cites), ("quote", uses.quotes)):
            for key, line in _helper_keys(tree, helper):
                if key is None:
                    self.problems.warning(
                        display,
                        line,
                        f"{helper}() with a computed key cannot be checked before rendering",
                    )
                else:
                    table.setdefault(key, (display, line))

    def _subject_includes(self, tree: nodes.Template, where: tuple[str, int], uses: Uses) -> None:
        """Templates a subject includes are checked like others; their fields reach the header."""
        included = Uses()
        for node in tree.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
            assert isinstance(node, nodes.Include | nodes.Extends | nodes.Import | nodes.FromImport)
            child = node.template
            if isinstance(child, nodes.Const) and isinstance(child.value, str):
                self._collect(child.value, where, included, [])
            else:
                self.problems.error(
                    where[0],
                    where[1],
                    "include/extends needs a literal template name so it can be checked",
                )
                included.ok = False
        uses.ok = uses.ok and included.ok
        for column in included.fields:
            uses.subject_fields.setdefault(column, where)
        for mine, theirs in (
            (uses.settings, included.settings),
            (uses.cites, included.cites),
            (uses.quotes, included.quotes),
        ):
            for key, place in theirs.items():
                mine.setdefault(key, place)

    def audience(self, name: str) -> Uses:
        spec = self.campaign.audiences[name]
        uses = Uses()
        settings = self.campaign.settings_file.display
        self._collect(spec.template, (settings, spec.line), uses, [])
        if spec.html_template:
            self._collect(spec.html_template, (settings, spec.line), uses, [])
        try:
            subject = self.env.parse(spec.subject)
        except TemplateSyntaxError as exc:
            self.problems.error(settings, spec.subject_line, f"subject syntax: {exc.message}")
            uses.ok = False
        except RecursionError:
            self.problems.error(settings, spec.subject_line, "subject syntax: nested too deeply")
            uses.ok = False
        else:
            self._gather(subject, settings, uses, uses.subject_fields)
            # a subject line's own line number is the key's line, not the template's
            uses.subject_fields = {k: (settings, spec.subject_line) for k in uses.subject_fields}
            self._subject_includes(subject, (settings, spec.subject_line), uses)
        for key, (path, line) in uses.cites.items():
            if key not in self.campaign.citations:
                self.problems.error(
                    path,
                    line,
                    f"cite('{key}'): no such citation in {self.campaign.citations_display}"
                    + did_you_mean(key, self.campaign.citations),
                )
                uses.ok = False
        for key, (path, line) in uses.quotes.items():
            if key not in self.campaign.quotes:
                self.problems.error(
                    path,
                    line,
                    f"quote('{key}'): no such quote in {self.campaign.quotes_display}"
                    + did_you_mean(key, self.campaign.quotes),
                )
                uses.ok = False
        for key, (path, line) in uses.settings.items():
            if key not in self.campaign.settings:
                self.problems.error(
                    path,
                    line,
                    f"campaign.{key}: no such setting in [campaign] of "
                    f"{self.campaign.settings_file.display}",
                )
                uses.ok = False
        return uses
