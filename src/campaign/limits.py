"""What one letter may cost: bounds on the values, output, steps and time of a template.

A template is code from the campaign's author, or from wherever they copied it. Jinja's sandbox
keeps it from Python's internals, not from asking for ``"x" * 2**40`` or a loop inside a loop
inside a loop. Every operation that can make a large value from small ones is checked before
it runs (operators, string methods, filters, Jinja's globals), every value made is counted,
and loops, calls and output are counted as they go. The counts are deterministic, so check
and export agree; the clock is only a backstop.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from string import Formatter
from typing import Any

from jinja2.utils import Namespace, generate_lorem_ipsum, pass_context

from campaign.errors import CampaignError
from campaign.fields import Blank, is_blank

MAX_VALUE = 1_000_000  # characters (or items) in any one value, and in a whole letter
MAX_MADE = 10_000_000  # characters of values and output one letter makes in all
MAX_STEPS = 250_000  # loop iterations, calls, filters and operators in one letter
MACRO_STEPS = 4  # a macro call costs about as much as this many other steps
MAX_BITS = 10_000  # bits in a number (about 3,000 digits)
MAX_DEPTH = 50  # macros calling macros
MAX_SECONDS = 5.0  # wall clock, checked every _CLOCK_EVERY steps
_CLOCK_EVERY = 1_024


class LimitError(CampaignError):
    """A template asked one letter for more than the limits allow."""


class LetterTooLong(LimitError):
    """The letter itself, as written out, is over the limit; ``line``: the template's line."""

    line: int | None = None


def _n(number: int) -> str:
    return f"{number:,}"


class Budget:
    """What one letter has used so far."""

    __slots__ = ("deadline", "depth", "made", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.made = 0
        self.depth = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def step(self, count: int = 1) -> None:
        before = self.steps
        self.steps = before + count
        if self.steps > MAX_STEPS:
            raise LimitError(
                f"the template takes more than {_n(MAX_STEPS)} steps (loop iterations, calls, "
                "filters and operators) for one letter: is a loop nested in another?"
            )
        if (before ^ self.steps) >= _CLOCK_EVERY and time.monotonic() > self.deadline:
            raise LimitError(f"the template takes more than {MAX_SECONDS:g} seconds for one letter")

    def make(self, size: int) -> None:
        """Count ``size`` characters of values or output made."""
        self.made += size
        if self.made > MAX_MADE:
            raise LimitError(
                f"the template makes more than {_n(MAX_MADE)} characters of text for one "
                "letter: is a loop or a macro repeating a long value?"
            )


def measure(value: Any, limit: int = MAX_VALUE) -> int:
    """About how many characters ``str(value)`` would have; stops counting past ``limit``.

    Lists that hold the same long value many times count every time: that is what turning
    them into text would cost.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif type(item) is int:
            total += item.bit_length() // 3 + 1
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total > limit:
                return total
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            if total > limit:
                return total
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Namespace):
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        else:
            total += 8  # numbers, None, ranges, generators, our own records: short
        if total > limit:
            return total
    return total


def too_long(size: int, what: str = "a value") -> LimitError:
    return LimitError(
        f"{what} would be longer than {_n(MAX_VALUE)} characters (about {_n(size)}), "
        "more than one letter may hold"
    )


def bounded(value: Any, budget: Budget) -> Any:
    """``value``, counted as made; an error when it is too large to keep."""
    size = measure(value)
    if size > MAX_VALUE:
        raise too_long(size)
    budget.make(size)
    return value


def _check_int(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_VALUE:
        shown = _n(value) if abs(value) < 10**15 else "a number that large"
        raise LimitError(f"{what} {shown}: more than {_n(MAX_VALUE)}, the most a letter allows")


def _check_bits(bits: int) -> None:
    if bits > MAX_BITS:
        raise LimitError(
            f"the number would have about {_n(bits * 3 // 10)} digits; a letter allows "
            f"numbers of up to about {_n(MAX_BITS * 3 // 10)}"
        )


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


# -- operators ------------------------------------------------------------------------------

# A printf-style conversion: its width and precision, either of which may be '*'.
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def check_printf(template: str, args: Any) -> None:
    """``template % args``: no width or precision beyond the limit, no huge argument."""
    star = False
    for match in _PRINTF.finditer(template):
        for group in match.groups():
            if group == "*":
                star = True
            elif group is not None:
                _check_int(int(group[-8:]) if len(group) <= 8 else MAX_VALUE + 1, "a width of")
    if star:
        for item in args if isinstance(args, tuple) else (args,):
            _check_int(item, "a width of")
    size = measure(args) + len(template)
    if size > MAX_VALUE:
        raise too_long(size)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse, before it runs, an operator whose result would be too large."""
    ints = type(left) is int and type(right) is int
    if operator == "**":
        if ints and right > 0 and abs(left) > 1:
            _check_bits(left.bit_length() * right)
    elif operator == "*":
        if ints:
            _check_bits(left.bit_length() + right.bit_length())
            return
        for sequence, count in ((left, right), (right, left)):
            length = _length(sequence)
            if length is not None and isinstance(count, int) and length * count > MAX_VALUE:
                raise too_long(length * count)
    elif operator == "+":
        a, b = _length(left), _length(right)
        if a is not None and b is not None and a + b > MAX_VALUE:
            raise too_long(a + b)
        if ints:
            _check_bits(max(left.bit_length(), right.bit_length()) + 1)
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right)


# -- string methods ---------------------------------------------------------------------------

_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


def check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of one of ``text``'s methods that would make too long a string."""
    if name in _WIDTH_METHODS:
        width = args[0] if args else kwargs.get("width", 0)
        _check_int(width, "a width of")
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            _check_int(size * text.count("\t") + len(text), "a text of")
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            count = len(text) + 1 if not old else text.count(old)
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                count = min(count, args[2])
            size = len(text) + count * (len(new) - len(old))
            if size > MAX_VALUE:
                raise too_long(size)
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, list | tuple):
            size = measure(items) + len(text) * len(items)
            if size > MAX_VALUE:
                raise too_long(size)
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((measure(v) for v in args[0].values()), default=0)
        if longest * len(text) > MAX_VALUE:
            raise too_long(longest * len(text))


class _Fields(Formatter):
    """Reads a format string's fields without formatting anything."""


def check_format(template: str, args: tuple[Any, ...], kwargs: Any) -> None:
    """``template.format(*args, **kwargs)``: no width beyond the limit, no huge argument."""
    nested = False
    try:
        fields = list(_Fields().parse(template))
    except ValueError:
        return  # str.format reports it
    for _, _, spec, _ in fields:
        if spec:
            nested = nested or "{" in spec
            for number in re.findall(r"\d+", spec):
                _check_int(int(number[-8:]) if len(number) <= 8 else MAX_VALUE + 1, "a width of")
    values = list(args) + list(kwargs.values() if isinstance(kwargs, dict) else ())
    if nested:
        for value in values:
            _check_int(value, "a width of")
    size = measure(values) + len(template)
    if size > MAX_VALUE:
        raise too_long(size)


# -- filters and globals ------------------------------------------------------------------------


def _check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    size = measure(value)
    if size > MAX_VALUE:
        raise too_long(size)
    for arg in (*args, *kwargs.values()):
        if name not in ("round", "int", "float", "filesizeformat", "default", "d", "format"):
            _check_int(arg, f"|{name} with")
        size += measure(arg)
    if size > MAX_VALUE:
        raise too_long(size)
    if name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        lines = str(value).count("\n") + 1
        if pad * lines + len(str(value)) > MAX_VALUE:
            raise too_long(pad * lines)
    elif name == "join" and isinstance(value, list | tuple):
        sep = args[0] if args else kwargs.get("d", "")
        if isinstance(sep, str) and len(sep) * len(value) > MAX_VALUE:
            raise too_long(len(sep) * len(value))
    elif name == "replace" and isinstance(value, str) and len(args) >= 2:
        check_str_method(value, "replace", args, {})
    elif name == "format" and isinstance(value, str):
        check_printf(value, kwargs or args)
    elif name == "center" and isinstance(value, str):
        check_str_method(value, "center", args or (kwargs.get("width", 80),), {})


def bound_filter(name: str, function: Callable[..., Any], budget: Callable[[], Budget]) -> Any:
    """The filter ``function``, checked before it runs and its result counted."""
    passes = getattr(function, "jinja_pass_arg", None)
    skip = 1 if passes is not None else 0

    def checked(*args: Any, **kwargs: Any) -> Any:
        spent = budget()
        spent.step()
        if len(args) <= skip:
            return bounded(function(*args, **kwargs), spent)
        value = args[skip]
        _check_filter(name, value, args[skip + 1 :], kwargs)
        result = bounded(function(*args, **kwargs), spent)
        if type(value) is Blank and type(result) is str and is_blank(result):
            return Blank(result, value.column)  # recipient.note|trim is still blank
        return result

    checked.__name__ = getattr(function, "__name__", name)
    checked.__doc__ = function.__doc__
    if passes is not None:
        checked.jinja_pass_arg = passes  # type: ignore[attr-defined]
    return checked


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja's lipsum(), for at most a letter's worth of words."""
    for value in (n, min, max):
        _check_int(value, "lipsum() with")
    if isinstance(n, int) and isinstance(max, int) and n * max * 12 > MAX_VALUE:
        raise too_long(n * max * 12, "lipsum()")
    return generate_lorem_ipsum(n, html, min, max)


# -- loops and buffers ---------------------------------------------------------------------------


def loop_filter(budget: Callable[[], Budget]) -> Callable[..., Iterator[Any]]:
    """What every ``{% for %}`` iterates through: each item is one step."""

    @pass_context
    def loop(_context: Any, items: Iterable[Any]) -> Iterator[Any]:
        spent = budget()
        for item in items:
            spent.step()
            yield item

    return loop


class Buffer(list[Any]):
    """What a macro, ``{% set %}`` block or ``{% filter %}`` block writes, counted as made."""

    __slots__ = ("budget",)

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self.budget = budget

    def append(self, item: Any) -> None:
        self.budget.make(len(item) if isinstance(item, str) else 8)
        super().append(item)

    def extend(self, items: Iterable[Any]) -> None:
        items = tuple(items)
        self.budget.make(sum(len(i) if isinstance(i, str) else 8 for i in items))
        super().extend(items)


_BATCH = 256  # chunks taken at a time: what one letter makes in all is bounded (MAX_MADE)


def join_output(chunks: Iterator[str], budget: Budget) -> str:
    """The letter from its template's output, stopped as soon as it is too long."""
    parts = list(islice(chunks, _BATCH))
    size = sum(map(len, parts))
    batch = parts
    while len(batch) == _BATCH and size <= MAX_VALUE:  # most letters: one batch, no loop
        batch = list(islice(chunks, _BATCH))
        size += sum(map(len, batch))
        parts += batch
    if size > MAX_VALUE:
        raise LetterTooLong(f"the letter would be longer than {_n(MAX_VALUE)} characters")
    budget.make(size)
    return "".join(parts)


def overflow_frame(chunks: Iterator[str]) -> Any:
    """The frame of the template code that was writing when the letter went over the limit."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_VALUE:
            return getattr(chunks, "gi_frame", None)
    return None


__all__ = [
    "MAX_VALUE",
    "Budget",
    "Buffer",
    "LetterTooLong",
    "LimitError",
    "bound_filter",
    "bounded",
    "check_binop",
    "check_format",
    "check_str_method",
    "join_output",
    "lipsum",
    "loop_filter",
    "measure",
]
