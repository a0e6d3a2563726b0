"""What a template does with its context's names: prints them as they are, or reads into them.

A message is rendered once for everyone a trigger reaches when each firm's own values (its
name, its links) are only printed by the template, never tested, filtered, joined or
captured (:mod:`notifier.rendering.shared`): then the firm's value can be put where a
stand-in printed. This module finds, from a template's parsed tree, which names are only
printed (``{{ enterprise.name }}``, ``{{ unsubscribe_url }}``, ``page_url is defined``) and
which are read any other way; anything it cannot follow makes the template ``opaque``, and
such a template is rendered for each firm, as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import nodes

# Output inside these is captured before it is printed ({% set %}..{% endset %}, a filter
# block, a macro or call block whose result a caller may filter): not printed as it is.
_CAPTURING = (nodes.AssignBlock, nodes.FilterBlock, nodes.Macro, nodes.CallBlock)
# Whatever includes another template's output inside a capture captures that output too.
_REFERENCING = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
# Names that reach a block's output as a value (self.block(), super()), or that print
# something different each render (lipsum): such a template is never shared.
_OPAQUE_NAMES = frozenset({"self", "super", "lipsum"})
_OPAQUE_FILTERS = frozenset({"random"})
# A mapping's own methods, which ``mapping.items`` reaches before its key: not a plain value.
_DICT_ATTRIBUTES = frozenset(dir(dict))


@dataclass(frozen=True)
class Usage:
    """How one template uses its context.

    Attributes:
        printed: the paths printed as they are: ``("enterprise", "name")``, ``("page_url",)``.
        read: the top-level names used any other way (tested, filtered, looped over...).
        references: the templates it extends, includes or imports (by name).
        autoescape: whether its output escapes HTML.
        opaque: true when the template cannot be followed (a template name computed at render
            time, ``{% autoescape %}``, ``self``, ``super()``, ``random``...).
    """

    printed: frozenset[tuple[str, ...]]
    read: frozenset[str]
    references: tuple[str, ...]
    autoescape: bool
    opaque: bool = False


def usage_of(tree: nodes.Template, *, autoescape: bool) -> Usage:
    """What the template of ``tree`` does with its context's names (see :class:`Usage`)."""
    walk = _Walk()
    walk.visit(tree, capturing=False)
    return Usage(
        printed=frozenset(walk.printed),
        read=frozenset(walk.read),
        references=tuple(walk.references),
        autoescape=autoescape,
        opaque=walk.opaque,
    )


def plain_path(node: nodes.Node) -> tuple[str, ...] | None:
    """``("enterprise", "name")`` for ``enterprise.name`` or ``enterprise['name']``,
    ``("page_url",)`` for ``page_url``; None for any other expression."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return (node.name,)
    inner = getattr(node, "node", None)
    if not (isinstance(inner, nodes.Name) and inner.ctx == "load"):
        return None
    if isinstance(node, nodes.Getattr) and node.attr not in _DICT_ATTRIBUTES:
        return (inner.name, node.attr)
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return (inner.name, node.arg.value)
    return None


class _Walk:
    def __init__(self) -> None:
        self.printed: set[tuple[str, ...]] = set()
        self.read: set[str] = set()
        self.references: list[str] = []
        self.opaque = False

    def visit(self, node: nodes.Node, *, capturing: bool) -> None:
        if isinstance(node, nodes.Output) and not capturing:
            for printed in node.nodes:
                path = plain_path(printed)
                if path is not None:
                    self.printed.add(path)
                else:
                    self.visit(printed, capturing=capturing)
            return
        if (
            isinstance(node, nodes.Test)
            and node.name in ("defined", "undefined")
            and plain_path(node.node) is not None
        ):
            return  # the same for every firm: they all have the same keys
        self._note(node, capturing=capturing)
        capturing = capturing or isinstance(node, _CAPTURING)
        for child in node.iter_child_nodes():
            self.visit(child, capturing=capturing)

    def _note(self, node: nodes.Node, *, capturing: bool) -> None:
        if isinstance(node, nodes.Name) and node.ctx == "load":
            self.read.add(node.name)
            self.opaque |= node.name in _OPAQUE_NAMES
        elif isinstance(node, nodes.Filter):
            self.opaque |= node.name in _OPAQUE_FILTERS
        elif isinstance(node, nodes.EvalContextModifier):
            self.opaque = True
        elif isinstance(node, _REFERENCING):
            target = node.template
            if isinstance(target, nodes.Const) and isinstance(target.value, str):
                self.references.append(target.value)
            else:
                self.opaque = True
            self.opaque |= capturing
