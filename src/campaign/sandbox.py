"""The Jinja sandbox letters render in: Jinja's own, faster where letters need it, bounded."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import fields
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import TemplateError
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_context
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from campaign import limits
from campaign.errors import CampaignError
from campaign.fields import Blank, Record, is_blank
from campaign.inline import Inliner
from campaign.settings import Citation

# Every attribute a dict has: ``recipient.title`` names a key only when it names none of these.
_DICT_ATTRIBUTES = frozenset(dir(dict))
_CITATION_FIELDS = frozenset(f.name for f in fields(Citation))
# Bound methods called without the sandbox's checks: cite(), quote(), references(), filled in
# by render.py. They take no context, are safe, and cost nothing worth counting.
FAST_CALLS: set[Callable[..., Any]] = set()
# The filters the guards below put in front of every loop and every '~' operand: names no
# template can write.
_LOOP = "campaign loop"
_MISSING = object()
_MEASURED = "campaign measured"


class BlankValue(CampaignError):
    """A blank CSV value printed into a letter."""


def finalize(value: Any) -> Any:
    """Every ``{{ value }}`` a template prints passes here first."""
    kind = type(value)
    if (kind is str or kind is Markup) and len(value) <= limits.MAX_VALUE:
        return value
    if kind is Blank:
        column = value.column
        raise BlankValue(
            f"column '{column}' is empty for this recipient, and the template prints it: "
            f"fill it in, or print it only when it has a value "
            f"({{% if recipient.{column} %}}...{{% endif %}})"
        )
    size = limits.measure(value)
    if size > limits.MAX_VALUE:
        raise limits.too_long(size, "the printed value")
    return value


class _Guards(NodeTransformer):
    """Every loop counts its steps; every '~' operand is measured before it becomes text."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP, [], [], None, None, lineno=node.iter.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [
            nodes.Filter(n, _MEASURED, [], [], None, None, lineno=n.lineno) for n in node.nodes
        ]
        return node


class _LetterCode(CodeGenerator):
    """Jinja's code generator, with the buffers of macros and blocks counted as they fill."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.new_buffer()")


class LetterSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, with shortcuts for what every letter does many times, and limits.

    The immutable sandbox: a template cannot change a list or dict it is given (the campaign
    settings, the citations, the recipient), so one letter cannot change the next.

    Each shortcut returns what the sandbox itself would, only sooner; anything else goes
    through the sandbox's own checks. Tests compare both on the sample and on hostile templates.
    What one letter may cost is bounded (see limits.py): operators that can make large values,
    calls, filters, loops and buffers are checked and counted against ``budget``, which the
    renderer starts afresh for every letter.
    """

    code_generator_class = _LetterCode
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, inline: bool = True, **options: Any) -> None:
        options.setdefault("finalize", finalize)
        super().__init__(**options)
        self.inline = inline
        self.budget = limits.Budget()
        self._loaded: dict[tuple[str, str | None], Template] = {}
        budget: Callable[[], limits.Budget] = lambda: self.budget  # noqa: E731
        self.filters = {
            name: limits.bound_filter(name, function, budget)
            for name, function in self.filters.items()
        }
        self.filters[_LOOP] = limits.loop_filter(budget)
        self.filters[_MEASURED] = _measured
        self.globals["lipsum"] = limits.lipsum

    def add_filter(self, name: str, function: Callable[..., Any]) -> None:
        """Register a filter of our own, checked and counted like Jinja's."""
        self.filters[name] = limits.bound_filter(name, function, lambda: self.budget)

    def new_buffer(self) -> limits.Buffer:
        return limits.Buffer(self.budget)

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Jinja turns a parsed template into Python here: includes are inlined first.
        if self.inline:
            source = Inliner(self, name, (name,) if name else ()).visit(source)
        source = _Guards().visit(source)
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

    def _field(self, record: Record, name: str) -> Any:
        try:
            value = record[name]
        except KeyError:
            reason = record.absent.get(name)
            hint = reason or f"{record.label}.{name} is undefined: there is no such value"
            return self.undefined(hint=hint, obj=record, name=name)
        if record.blanks and type(value) is str and is_blank(value):
            return Blank(value, name)
        return value

    def getattr(self, obj: Any, attribute: str) -> Any:
        kind = type(obj)
        # recipient.values, campaign.items: the data of that name, never a dict method.
        if kind is Record:
            value = obj.get(attribute, _MISSING)
            if value is _MISSING or (type(value) is str and obj.blanks and is_blank(value)):
                return self._field(obj, attribute)
            return value
        # ``x.title`` on a plain dict: the sandbox would look for a dict attribute of that
        # name, fail (an exception each time), then read the key. No dict attribute has it.
        if kind is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        # ``citations["oig-10-63"].excerpt``: a field of our own frozen record, plain data,
        # which the sandbox would allow after checking the name and the value's type.
        if kind is Citation and attribute in _CITATION_FIELDS:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(obj) is Record and type(argument) is str:
            return self._field(obj, argument)
        return super().getitem(obj, argument)

    def call(
        __self,  # Jinja's own signature: a keyword argument may be called 'self'
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # cite(), quote() and references(): our own methods, which take no context and are
        # safe to call; the sandbox would check both through several getattr() calls.
        if type(__obj) is MethodType and __obj.__func__ in FAST_CALLS:
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        budget = __self.budget
        budget.step()
        kind = type(__obj)
        owner = None
        if kind is BuiltinMethodType:
            owner = __obj.__self__
            if isinstance(owner, str):
                limits.check_str_method(owner, __obj.__name__, args, kwargs)
        if kind is Macro:
            if budget.depth >= limits.MAX_DEPTH:
                # Reported as Python's own would be, before Python's own stack runs out.
                raise RecursionError(
                    f"maximum recursion depth exceeded: macros call macros more than "
                    f"{limits.MAX_DEPTH} deep (does a macro call itself without end?)"
                )
            budget.step(limits.MACRO_STEPS - 1)
            budget.depth += 1
            try:
                result = super().call(__context, __obj, *args, **kwargs)
            finally:
                budget.depth -= 1
        else:
            result = super().call(__context, __obj, *args, **kwargs)
        if type(owner) is Blank and type(result) is str and is_blank(result):
            result = Blank(result, owner.column)  # recipient.note.strip() is still blank
        return limits.bounded(result, budget)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.budget.step()
        limits.check_binop(operator, left, right)
        return limits.bounded(super().call_binop(context, operator, left, right), self.budget)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template: str = value.__self__
        is_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            if is_map:
                limits.check_format(template, (), args[0] if args else {})
            else:
                limits.check_format(template, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked

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


@pass_context  # never run while the template compiles
def _measured(_context: Context, value: Any) -> Any:
    """A '~' operand, measured before it is turned into text and joined."""
    size = len(value) if type(value) is str else limits.measure(value)
    if size > limits.MAX_VALUE:
        raise limits.too_long(size)
    return value


__all__ = ["FAST_CALLS", "BlankValue", "LetterSandbox", "finalize"]
