"""Checks a template's text must pass before it is compiled, whatever values it is given.

The sandbox (:mod:`notifier.rendering.sandbox`) bounds what a render builds and how long its loops
run;
these checks refuse, at parse time, what it could only stop late or not at all:

- brackets nested deeper than :data:`MAX_NESTING` and over-long expressions (Jinja's parser and
  compiler recurse once per level, so 5,000 nested parentheses exhaust Python's stack);
- a macro that calls itself, directly or through other macros, and ``for ... recursive`` loops
  (recursion is never needed in a message and its depth is bounded only by the stack);
- integer literals over :data:`notifier.rendering.sandbox.MAX_INT_BITS`, and arithmetic on
constants that
  the sandbox would refuse (``{% set big = ((10**1000)**1000)**10 %}`` is refused when saved, even
  inside a branch that the sample values never reach).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError

from notifier.errors import TemplateError
from notifier.rendering.sandbox import MAX_INT_BITS, check_integer_operation

MAX_NESTING = 40  # brackets within brackets; real messages use two or three
MAX_TAG_TOKENS = 160  # words and signs in one tag; a long `{% if %}` test has about 40
MAX_TOKENS = 4_000  # in all the tags of one template
_TAG_BEGINS = {"variable_begin", "block_begin"}
_TAG_ENDS = {"variable_end", "block_end"}
_OPENING = {"(", "[", "{"}
_CLOSING = {")", "]", "}"}
_OPERATORS: dict[type[nodes.Node], tuple[str, Callable[[Any, Any], Any]]] = {
    nodes.Add: ("+", operator.add), nodes.Sub: ("-", operator.sub),
    nodes.Mul: ("*", operator.mul), nodes.Pow: ("**", operator.pow),
    nodes.Mod: ("%", operator.mod), nodes.FloorDiv: ("//", operator.floordiv),
    nodes.Div: ("/", operator.truediv),
}


def check_tokens(environment: jinja2.Environment, source: str, *, name: str) -> None:
    """Refuse deep brackets and over-long expressions, reading token by token (no recursion).

    Jinja's parser and compiler recurse once per bracket and per operator of a chain, and
    compiling a chain costs about the square of its length, so both are bounded before parsing:
    brackets at :data:`MAX_NESTING` levels, :data:`MAX_TAG_TOKENS` tokens in one ``{{ }}`` or
    ``{% %}`` and :data:`MAX_TOKENS` in all the tags of a template.

    Raises:
        TemplateError: naming the line where the limit is passed, or a syntax error.
    """
    depth = in_tag = total = 0
    try:
        for lineno, kind, value in environment.lex(source, name=name):
            if kind in _TAG_BEGINS:
                in_tag = 0
                continue
            if kind == "whitespace" or kind == "data" or kind in _TAG_ENDS:
                continue
            in_tag += 1
            total += 1
            if in_tag > MAX_TAG_TOKENS or total > MAX_TOKENS:
                raise TemplateError(
                    f"template '{name}', line {lineno}: 表达式过长 expression too long "
                    f"(at most {MAX_TAG_TOKENS} words and signs in one tag, {MAX_TOKENS} in all)"
                )
            if kind != "operator":
                continue
            if value in _OPENING:
                depth += 1
                if depth > MAX_NESTING:
                    raise TemplateError(
                        f"template '{name}', line {lineno}: 括号嵌套超过 {MAX_NESTING} 层 "
                        f"brackets nested more than {MAX_NESTING} deep"
                    )
            elif value in _CLOSING:
                depth = max(depth - 1, 0)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template '{name}', line {exc.lineno}: {exc.message}") from None


def check_tree(tree: nodes.Template, *, name: str) -> None:
    """Refuse recursion and over-large constant arithmetic anywhere in ``tree``.

    Raises:
        TemplateError: naming the macro, loop or expression and its line.
    """
    _refuse_recursive_loops(tree, name=name)
    _refuse_recursive_macros(tree, name=name)
    _refuse_large_constants(tree, name=name)


def _refuse_recursive_loops(tree: nodes.Template, *, name: str) -> None:
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateError(
                f"template '{name}', line {loop.lineno}: 不允许递归循环 recursive loops are "
                "not allowed in templates"
            )


def _refuse_recursive_macros(tree: nodes.Template, *, name: str) -> None:
    macros = {macro.name: macro for macro in tree.find_all(nodes.Macro)}
    calls = {
        macro_name: {callee for callee in _called_names(macro) if callee in macros}
        for macro_name, macro in macros.items()
    }
    for start, macro in macros.items():
        if _reaches(start, start, calls):
            raise TemplateError(
                f"template '{name}', line {macro.lineno}: 宏 '{start}' 调用自身（递归）"
                f"macro '{start}' calls itself: templates may not recurse"
            )


def _called_names(macro: nodes.Macro) -> Iterator[str]:
    for call in macro.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name):
            yield call.node.name
    # A macro handed on by name can be called through another name: count any mention.
    for mention in macro.find_all(nodes.Name):
        if mention.ctx == "load":
            yield mention.name


def _reaches(start: str, goal: str, calls: dict[str, set[str]]) -> bool:
    seen: set[str] = set()
    waiting = list(calls.get(start, ()))
    while waiting:
        current = waiting.pop()
        if current == goal:
            return True
        if current not in seen:
            seen.add(current)
            waiting.extend(calls.get(current, ()))
    return False


def _refuse_large_constants(tree: nodes.Template, *, name: str) -> None:
    for const in tree.find_all(nodes.Const):
        value = const.value
        if isinstance(value, int) and not isinstance(value, bool) and (
            value.bit_length() > MAX_INT_BITS
        ):
            raise TemplateError(
                f"template '{name}', line {const.lineno}: 整数过大 integer literal over "
                f"{MAX_INT_BITS} bits"
            )
    known: dict[int, object] = {}
    for expression in tree.find_all(nodes.BinExpr):
        try:
            _constant(expression, known)
        except SecurityError as exc:
            raise TemplateError(f"template '{name}', line {expression.lineno}: {exc}") from None


def _constant(node: nodes.Node, known: dict[int, object]) -> object:
    """The value of an expression made only of numbers (else None), checked as the sandbox would.

    ``known`` keeps each node's value, so walking every sub-expression costs one evaluation each.
    """
    if id(node) not in known:
        known[id(node)] = _evaluate(node, known)
    return known[id(node)]


def _evaluate(node: nodes.Node, known: dict[int, object]) -> object:
    if isinstance(node, nodes.Const):
        return node.value if isinstance(node.value, int | float) else None
    if isinstance(node, nodes.Neg | nodes.Pos):
        operand = _constant(node.node, known)
        if isinstance(operand, int | float) and isinstance(node, nodes.Neg):
            return -operand
        return operand
    known_operator = _OPERATORS.get(type(node))
    if known_operator is None:
        return None
    sign, apply = known_operator
    assert isinstance(node, nodes.BinExpr)
    left, right = _constant(node.left, known), _constant(node.right, known)
    if not (isinstance(left, int | float) and isinstance(right, int | float)):
        return None
    check_integer_operation(sign, left, right)
    try:
        return apply(left, right)
    except (ArithmeticError, ValueError):
        return None
