"""What every input model shares: unknown keys refused, text fields checked by the text rules,
and pydantic's first error turned into one :class:`~notifier.errors.InputError` naming the field.

A model states the shape and the limits (so the OpenAPI document carries them); the messages
are ours: ``targets.sectr: 未知字段，是否为 sectors？/ unknown key; did you mean 'sectors'?``,
``topics: 21 items, at most 20``, ``title: is required``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from notifier.domain.plaintext import shown
from notifier.domain.text_rules import (
    LINE_PATTERN,
    REQUIRED_LINE_PATTERN,
    check_line,
    check_text,
)
from notifier.errors import InputError

M = TypeVar("M", bound=BaseModel)

# The error type of our own messages, and the context key that names a field below the one
# validated (a rule across two fields is reported on the second).
OURS = "input"
_BELOW = "below"
# The tags of a union whose member is chosen by the value's type; not part of a field's name.
UNION_TAGS = frozenset({"stored", "inline"})


class StrictModel(BaseModel):
    """An input object: an unknown key is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def refuse(message: str, *, below: str | None = None) -> PydanticCustomError:
    """An error with our own ``message`` (raise it in a validator); ``below`` names a key under
    the validated object to report it on."""
    return PydanticCustomError(OURS, message, {_BELOW: below} if below else None)


# --- text fields -------------------------------------------------------------------------------


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise refuse("must be a string")
    return value


def _line(value: Any) -> str:
    try:
        return check_line(_string(value), "").strip()
    except InputError as exc:
        raise refuse(str(exc).removeprefix(": ")) from None


def _text(value: Any) -> str:
    try:
        return check_text(_string(value).replace("\r\n", "\n"), "").strip()
    except InputError as exc:
        raise refuse(str(exc).removeprefix(": ")) from None


def _required(read: Callable[[Any], str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise refuse("is required")
        return read(value)

    return check


Line = Annotated[str, BeforeValidator(_line)]
"""A one-line text (textrules' line rule, surrounding spaces dropped); blank is ``""``."""
RequiredLine = Annotated[str, BeforeValidator(_required(_line))]
"""A one-line text that must not be blank."""
Text = Annotated[str, BeforeValidator(_text)]
"""A multi-line text (line breaks and tabs allowed), surrounding spaces dropped."""
RequiredText = Annotated[str, BeforeValidator(_required(_text))]
"""A multi-line text that must not be blank."""


def line(max_length: int, *, required: bool = False, **options: Any) -> Any:
    """A line field's limit, with textrules' line rule as its pattern in the schema (checked
    by :data:`Line` itself, whose messages name the character); ``required``: not blank."""
    pattern = REQUIRED_LINE_PATTERN if required else LINE_PATTERN
    return Field(max_length=max_length, json_schema_extra={"pattern": pattern}, **options)


def listed(message: str, *, of: type | None = None) -> BeforeValidator:
    """A list field (whose items are all ``of``, when given): ``message`` otherwise."""

    def check(value: Any) -> Any:
        if not isinstance(value, list) or (of and not all(isinstance(v, of) for v in value)):
            raise refuse(message)
        return value

    return BeforeValidator(check)


def strings(message: str = "must be a list of strings") -> BeforeValidator:
    """A list field whose items must all be strings (``message`` otherwise)."""
    return listed(message, of=str)


def typed(kind: type, message: str) -> BeforeValidator:
    """A field whose value must be a ``kind`` (``message`` otherwise)."""

    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise refuse(message)
        return value

    return BeforeValidator(check)


def each(read: Callable[[str], str]) -> Callable[[Iterable[str]], tuple[str, ...]]:
    """Read every non-empty item with ``read`` (its InputError reported on the list), keeping
    the first of repeats."""

    def check(items: Iterable[str]) -> tuple[str, ...]:
        result = []
        for item in items:
            if not item:
                continue
            try:
                result.append(read(item))
            except InputError as exc:
                raise refuse(str(exc)) from None
        return tuple(dict.fromkeys(result))

    return check


# --- validation --------------------------------------------------------------------------------


# How deep an input's objects nest (a policy's deadline, a campaign's inline template): nulls
# deeper than this are the model's to refuse, and hostile nesting is never walked.
MAX_DEPTH = 4


def without_nulls(data: Any, depth: int = MAX_DEPTH) -> Any:
    """``data`` with every ``null`` member of an object left out: an input reads ``null`` as a
    key not given (so a required one is "is required", an optional one its default)."""
    if depth <= 0:
        return data
    if isinstance(data, dict):
        return {k: without_nulls(v, depth - 1) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [without_nulls(item, depth - 1) for item in data]
    return data


def validate(model: type[M], data: Any, *, what: str) -> M:
    """``data`` (decoded JSON) as ``model``.

    Raises:
        InputError: ``data`` is not an object (``what`` names it), or the first problem, naming
            its field (an unknown key first: it often explains the rest).
    """
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object")
    try:
        return model.model_validate(without_nulls(data))
    except ValidationError as exc:
        errors = exc.errors()
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise _input_error(model, first) from None


def _input_error(model: type[BaseModel], error: Any) -> InputError:
    loc = [part for part in error["loc"] if part not in UNION_TAGS]
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        field = field_name([*loc[:-1], shown(key, limit=40)])
        return unknown_key(field, key, known_keys(model, loc[:-1]))
    # An item of a list of values is reported on the list; an object in a list by its index.
    item = bool(loc) and isinstance(loc[-1], int) and kind not in ("model_type", "dict_type")
    if context.get(_BELOW):
        loc = [*loc, context[_BELOW]]
    field = field_name(loc[:-1] if item else loc)
    return InputError(f"{field}: {_reason(kind, error, item)}", field=field)


def _reason(kind: str, error: Any, item: bool) -> str:
    context = error.get("ctx") or {}
    if kind == OURS:
        return str(error["msg"])
    if kind == "missing":
        return "is required"
    if kind.endswith(("too_long", "too_short")):
        # A limit after a validator is checked as a length of any kind: say which.
        bound, limit = (
            ("at most", context.get("max_length"))
            if kind.endswith("too_long")
            else ("at least", context.get("min_length"))
        )
        given = error.get("input")
        if isinstance(given, str):
            return f"{'an item is' if item else 'is'} {len(given)} characters, {bound} {limit}"
        return f"{len(given) if given is not None else '?'} items, {bound} {limit}"
    if kind in ("model_type", "dict_type"):
        return "must be an object"
    if kind == "list_type":
        return "must be a list"
    if kind == "string_type":
        return "must be a list of strings" if item else "must be a string"
    return str(error.get("msg", "is invalid"))


def field_name(loc: Sequence[Any]) -> str:
    """``deadlines[0].due_at`` for the location ``("deadlines", 0, "due_at")``."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def unknown_key(field: str, key: str, known: Iterable[str]) -> InputError:
    """The refusal of an unknown key, with the nearest known one (or the known ones)."""
    return InputError(f"{field}: {unknown_key_reason(key, known)}", field=field)


def unknown_key_reason(key: str, known: Iterable[str]) -> str:
    """Why ``key`` is refused: ``未知字段，是否为 sectors？/ unknown key; did you mean 'sectors'?``
    (or the known keys, when none is near)."""
    known = tuple(known)
    near = difflib.get_close_matches(key, known, n=1)
    if near:
        return f"未知字段，是否为 {near[0]}？/ unknown key; did you mean {near[0]!r}?"
    listed = ", ".join(known)
    return f"未知字段，应为 {listed} 之一 / unknown key; expected one of {listed}"


def known_keys(model: type[BaseModel], loc: Sequence[Any]) -> tuple[str, ...]:
    """The keys of the object at ``loc`` inside ``model`` (by walking the field types)."""
    current: Any = model
    for part in loc:
        # Anything else is a list's index or a mapping's key: the model below is found already.
        if _is_model(current) and part in current.model_fields:
            current = _model_in(current.model_fields[part].annotation)
    return tuple(current.model_fields) if _is_model(current) else ()


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The model an annotation holds (``Model``, ``list[Model]``, ``Model | None``...), or None."""
    if _is_model(annotation):
        return annotation
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is Annotated:
        arguments = arguments[:1]
    elif origin not in (list, tuple, dict, typing.Union, types.UnionType):
        return None
    for argument in arguments:
        found = _model_in(argument)
        if found is not None:
            return found
    return None
