"""The bounded Jinja2 sandbox: Jinja2's immutable sandbox, with time and size limits.

The sandbox stops attribute walks into Python internals; on top of it every loop and every
filter that walks a sequence checks the render's deadline, and every operator, filter, method
and format that builds a string or list checks its size first, so no template can run past
its time or build past its budget (see :class:`Limits`).
"""

from __future__ import annotations

import functools
import re
import time
import types
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import filters, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateRuntimeError, UndefinedError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
    safe_range,
)
from jinja2.utils import missing as _MISSING
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, soft_str

DEFAULT_MAX_CHARS = 100_000
DEFAULT_MAX_SECONDS = 2.0
MAX_REPEAT = 100_000  # longest string or list a template may build with `*`
MAX_EXPONENT = 1_000  # largest integer exponent a template may use with `**`
MAX_INT_BITS = 1_024  # largest integer a template may build: about 308 digits, far past any need
BUILD_FACTOR = 10  # a render may build this many times its output limit in strings, in all

@dataclass
class Limits:
    """What the render in progress may still spend."""

    deadline: float = float("inf")
    max_chars: int = DEFAULT_MAX_CHARS
    left: int = DEFAULT_MAX_CHARS * BUILD_FACTOR  # characters it may still build


LIMITS: ContextVar[Limits | None] = ContextVar("notifier_render_limits", default=None)


def _current() -> Limits:
    limits = LIMITS.get()
    return limits if limits is not None else Limits()


def _charge(size: int, what: str) -> None:
    """Refuse to build ``size`` characters over the limit, else count them against the render."""
    limits = _current()
    if size > limits.max_chars:
        raise SecurityError(
            f"{what} would build {size} characters, over the maximum of {limits.max_chars}"
        )
    limits.left -= size
    if limits.left < 0:
        raise SecurityError(
            f"the template builds over {limits.max_chars * BUILD_FACTOR} characters in all"
        )


def _weight(value: Any, limit: int) -> int:
    """About how many characters ``value`` prints as, counted until past ``limit``."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        return 1 + value.bit_length() // 3
    if isinstance(value, list | tuple):
        total = len(value)
        for item in value:
            if total > limit:
                break
            total += _weight(item, limit - total)
        return total
    return 1


class OverTime(Exception):
    """Raised inside a render that has run past its deadline."""


class Named(dict[str, Any]):
    """A context mapping that knows its own name, so a misspelt key can be reported by it."""

    __slots__ = ("_label",)

    def __init__(self, label: str, items: Mapping[str, Any]) -> None:
        super().__init__(items)
        self._label = label


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined that says ``'policy' has no attribute 'titel'`` for context mappings."""

    __slots__ = ()

    def __init__(self, hint: str | None = None, obj: Any = _MISSING,
                 name: str | None = None,
                 exc: type[TemplateRuntimeError] = UndefinedError) -> None:
        if hint is None and isinstance(obj, Named) and isinstance(name, str):
            hint = f"'{obj._label}' has no attribute '{name}'"
        super().__init__(hint, obj, name, exc)


class _TimedRange:
    """The sandbox's ``range``, checking the render deadline on each step."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        return _until_deadline(iter(self._range))

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]

    def __reversed__(self) -> Iterator[int]:
        return _until_deadline(reversed(self._range))

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __repr__(self) -> str:
        return repr(self._range)


def _until_deadline(values: Iterator[Any]) -> Iterator[Any]:
    deadline = _current().deadline
    for value in values:
        if time.monotonic() > deadline:
            raise OverTime
        yield value


class _Timed:
    """A sequence whose iteration checks the render deadline on each step."""

    def __init__(self, values: Any) -> None:
        self._values = values

    def __iter__(self) -> Iterator[Any]:
        return _until_deadline(iter(self._values))

    def __reversed__(self) -> Iterator[Any]:
        return _until_deadline(reversed(self._values))

    def __repr__(self) -> str:
        return repr(self._values)


class _TimedSized(_Timed):
    """:class:`_Timed` for a sequence with a length (``loop.length`` needs no copy)."""

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, index: Any) -> Any:
        return self._values[index]

    def __contains__(self, value: object) -> bool:
        return value in self._values


def timed(values: Any) -> Any:
    """``values``, iterating only until the render's deadline."""
    return _TimedSized(values) if hasattr(values, "__len__") else _Timed(values)


def _walks(value: Any) -> bool:
    # Text is walked in C at bounded cost; mappings must stay mappings for dictsort and items.
    return hasattr(value, "__iter__") and not isinstance(value, str | bytes | Mapping)


def _timed_filter(original: Any) -> Any:
    # Filters that take the context or environment first have the value second.
    at = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(original)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > at and _walks(args[at]):
            args = (*args[:at], timed(args[at]), *args[at + 1 :])
        return original(*args, **kwargs)

    return bounded


_WALKING_FILTERS = (
    "list", "sort", "unique", "reverse", "min", "max", "map", "select", "reject",
    "selectattr", "rejectattr", "groupby", "first", "random",
)


class _BoundLoops(NodeTransformer):
    """Wrap every loop's iterable (and a recursive loop's ``loop(...)`` calls) in :func:`timed`."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _timed_node(node.iter)
        if node.recursive:
            for call in node.find_all(nodes.Call):
                if isinstance(call.node, nodes.Name) and call.node.name == "loop" and call.args:
                    call.args[0] = _timed_node(call.args[0])
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(
            nodes.EnvironmentAttribute("bounded_concat"), node.nodes, [], None, None,
            lineno=node.lineno,
        )


def _timed_node(node: nodes.Node) -> nodes.Expr:
    return nodes.Call(nodes.EnvironmentAttribute("timed"), [node], [], None, None,
                      lineno=node.lineno)


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles every template of the environment with its loops bounded (see _BoundLoops)."""

    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        super().visit_Template(_BoundLoops().visit(node), frame)


# --- building: widths, formats and joins are checked before anything is built --------------

_PRINTF = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?(?P<type>.)",
    re.DOTALL,
)
_NUMBER = re.compile(r"\d+")


def _check_printf(fmt: str | bytes, args: Any) -> None:
    """Refuse a ``%`` format whose widths or precisions would build too much."""
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    limit = _current().max_chars
    size = len(text) + _weight(args if isinstance(args, tuple) else (args,), limit)
    for spec in _PRINTF.finditer(text):
        for number in (spec["width"], spec["precision"]):
            if number == "*":
                raise SecurityError("'*' widths are not allowed in templates")
            if number:
                size += _bounded_number(number, limit)
    _charge(size, "'%' formatting")


def _bounded_number(digits: str, limit: int) -> int:
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise SecurityError(f"width or precision {digits[:20]} is over the maximum of {limit}")
    return int(digits)


def _check_spec(format_spec: str) -> None:
    limit = _current().max_chars
    for number in _NUMBER.findall(format_spec):
        _bounded_number(number, limit)


class _BoundedFormatting:
    """Mixed into the sandbox's formatters: every field's spec is checked, its output counted."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        result = super().format_field(value, format_spec)  # type: ignore[misc]
        _charge(len(result), "str.format")
        return result


class _Formatter(_BoundedFormatting, SandboxedFormatter):
    pass


class _EscapeFormatter(_BoundedFormatting, SandboxedEscapeFormatter):
    pass


def _string_method_size(text: str | bytes, name: str, args: tuple[Any, ...],
                        kwargs: dict[str, Any]) -> int | None:
    """What a string method would build, for the methods that can build more than they get."""
    values = [*args, *kwargs.values()]
    if name in {"center", "ljust", "rjust", "zfill"} and values and isinstance(values[0], int):
        return max(values[0], len(text))
    if name == "expandtabs":
        tabsize = values[0] if values and isinstance(values[0], int) else 8
        tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
        return len(text) + tabs * max(tabsize, 0)
    if name == "replace" and len(values) >= 2:
        return _replace_size(text, *values[:3])
    if name == "join" and values:
        return -1  # measured while joining
    return None


def _replace_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + times * max(0, len(new) - len(old))


def _joined(separator: Any, items: Any, convert: Any = None) -> list[Any]:
    """The items of a join, converted, refused as soon as the result would be too long."""
    limit = _current().max_chars
    joined: list[Any] = []
    size = 0
    for item in _until_deadline(iter(items)):
        value = convert(item) if convert is not None else item
        size += len(separator) + (len(value) if isinstance(value, str | bytes) else 0)
        if size > limit:
            _charge(size, "join")
        joined.append(value)
    _charge(size, "join")
    return joined


# Bounded versions of the builtin filters that take a width or build from their arguments.


def _center(value: str, width: int = 80) -> str:
    _charge(max(_as_int(width), len(soft_str(value))), "center")
    return filters.do_center(value, width)


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    text = soft_str(s)
    prefix = len(width) if isinstance(width, str) else _as_int(width)
    _charge(len(text) + prefix * (text.count("\n") + 1), "indent")
    return filters.do_indent(s, width, first, blank)


@jinja2.pass_environment
def _wordwrap(environment: jinja2.Environment, s: str, width: int = 79,
              break_long_words: bool = True, wrapstring: str | None = None,
              break_on_hyphens: bool = True) -> str:
    text = soft_str(s)
    separator = environment.newline_sequence if wrapstring is None else wrapstring
    lines = len(text) // max(_as_int(width), 1) + text.count("\n") + 1
    _charge(len(text) + len(separator) * lines, "wordwrap")
    return filters.do_wordwrap(environment, s, width, break_long_words, wrapstring,
                               break_on_hyphens)


@jinja2.pass_environment
def _truncate(environment: jinja2.Environment, s: str, length: int = 255,
              killwords: bool = False, end: str = "...", leeway: int | None = None) -> str:
    _charge(min(len(soft_str(s)), max(_as_int(length), 0)) + len(soft_str(end)), "truncate")
    return filters.do_truncate(environment, s, length, killwords, end, leeway)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_printf(soft_str(value), kwargs or args)
    return filters.do_format(value, *args, **kwargs)


@pass_eval_context
def _replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    _charge(_replace_size(soft_str(s), soft_str(old), soft_str(new),
                          -1 if count is None else count), "replace")
    return filters.do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    if attribute is not None:
        value = map(filters.make_attrgetter(eval_ctx.environment, attribute), value)
    return filters.sync_do_join(eval_ctx, _joined(d, value, soft_str), d)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    limit = _current().max_chars
    _bounded_number(str(max(_as_int(linecount), 0)), limit)
    if fill_with is not None:
        _charge(linecount * _weight(fill_with, limit), "batch")
    return filters.do_batch(timed(value) if _walks(value) else value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    _bounded_number(str(max(_as_int(slices), 0)), _current().max_chars)
    return filters.sync_do_slice(timed(value) if _walks(value) else value, slices, fill_with)


@jinja2.pass_environment
def _sum(environment: jinja2.Environment, iterable: Any, attribute: Any = None,
         start: Any = 0) -> Any:
    if attribute is not None:
        iterable = map(filters.make_attrgetter(environment, attribute), iterable)
    limit = _current().max_chars
    total = start
    for item in _until_deadline(iter(iterable)):
        total = total + item
        if isinstance(total, str | bytes | list | tuple):
            _charge(_weight(total, limit), "sum")
    return total


_BOUNDED_FILTERS: dict[str, Any] = {
    "center": _center, "indent": _indent, "wordwrap": _wordwrap, "truncate": _truncate,
    "format": _format, "replace": _replace, "join": _join, "batch": _batch, "slice": _slice,
    "sum": _sum,
}


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with loops timed and nothing built past the size limit."""

    intercepted_binops = frozenset({"*", "**", "+", "-", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _TimedRange
        self.globals.pop("lipsum", None)  # builds any number of paragraphs
        for name in _WALKING_FILTERS:
            self.filters[name] = _timed_filter(self.filters[name])
        self.filters.update(_BOUNDED_FILTERS)

    timed = staticmethod(timed)

    @pass_eval_context
    def bounded_concat(self, eval_ctx: Any, *values: Any) -> str:
        """``~``: the joined text, refused before it is built when it is too long."""
        parts = _joined("", values, soft_str)
        return markup_join(parts) if eval_ctx.autoescape else str_join(parts)

    def call_binop(self, context: jinja2.runtime.Context, operator: str,
                   left: Any, right: Any) -> Any:
        check_integer_operation(operator, left, right)
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "+":
            _check_sum(left, right)
        elif operator == "%" and isinstance(left, str | bytes):
            _check_printf(left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text = value.__self__
        formatter = (_EscapeFormatter(self, escape=text.escape) if isinstance(text, Markup)
                     else _Formatter(self))
        is_format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs = args[0]
                args = ()
            formatted: str = type(text)(formatter.vformat(text, args, kwargs))
            return formatted

        return functools.update_wrapper(bounded, value)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any,  # noqa: N805
             *args: Any, **kwargs: Any) -> Any:
        text = getattr(__obj, "__self__", None)
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(text, str | bytes):
            size = _string_method_size(text, __obj.__name__, args, kwargs)
            if size == -1:
                args = (_joined(text, args[0]),)
            elif size is not None:
                _charge(size, f"str.{__obj.__name__}")
        return super().call(__context, __obj, *args, **kwargs)


def check_integer_operation(operator: str, left: Any, right: Any) -> None:
    """Refuse integer arithmetic whose result would pass :data:`MAX_INT_BITS`, before it runs.

    Python's big integers make ``((10**1000)**1000)**10`` one C call that no deadline can
    interrupt, so the size of the result is estimated from the operands' sizes first.

    Raises:
        SecurityError: naming the operator and the size it would build.
    """
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    if operator == "**" and abs(right) > MAX_EXPONENT:
        raise SecurityError(
            f"指数过大 exponent {right} is over the maximum of {MAX_EXPONENT}"
        )
    if operator == "**":
        bits = 0 if right < 0 or abs(left) <= 1 else left.bit_length() * right
    elif operator == "*":
        bits = left.bit_length() + right.bit_length()
    elif operator in ("+", "-"):
        bits = max(left.bit_length(), right.bit_length()) + 1
    else:
        return
    if bits > MAX_INT_BITS:
        raise SecurityError(
            f"整数过大 '{operator}' would build an integer of about {bits} bits, over the "
            f"maximum of {MAX_INT_BITS}"
        )


def _check_repeat(sequence: Any, times: Any) -> None:
    if isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int):
        size = _weight(sequence, MAX_REPEAT) * times
        if size > MAX_REPEAT:
            raise SecurityError(f"'*' would build {size} items, over the maximum of {MAX_REPEAT}")
        _charge(size, "'*'")


def _check_sum(left: Any, right: Any) -> None:
    built = (str, bytes, list, tuple)
    if isinstance(left, built) and isinstance(right, built):
        limit = _current().max_chars
        _charge(_weight(left, limit) + _weight(right, limit), "'+'")


ENVIRONMENT_OPTIONS: dict[str, Any] = {
    "undefined": _Undefined,
    "autoescape": jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    "trim_blocks": True,
    "lstrip_blocks": True,
    "auto_reload": False,
}


