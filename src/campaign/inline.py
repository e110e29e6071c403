"""Inlining ``{% include %}``: the included template's body compiled into the including one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.visitor import NodeTransformer

if TYPE_CHECKING:
    from jinja2 import Environment

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


class Inliner(NodeTransformer):
    """Replace each ``{% include "name" %}`` with the included template's body, in a scope.

    An include costs a template lookup, a new context and a generator at every letter; the
    inlined body renders the same text (its ``{% set %}`` stays inside, as in an include).
    Anything unusual is left an include: a computed name, ``ignore missing`` or ``without
    context``, a template that cannot be read, that uses blocks, imports or the names above,
    that reads a name the including template sets, a parent with autoescape blocks, and
    cycles. The line numbers inside an inlined body are its own file's, so a letter that fails
    is rendered again with real includes (Renderer._run), and that render has the last word.
    """

    def __init__(self, env: Environment, name: str | None, stack: tuple[str, ...]) -> None:
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
        Inliner(self.env, target, (*self.stack, target)).visit(tree)
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


__all__ = ["Inliner"]
