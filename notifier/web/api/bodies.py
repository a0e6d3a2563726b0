"""A request body the route reads itself, declared in the OpenAPI document from its model.

The policy and campaign files are read from the raw bytes by their strict readers (repeated
keys, ``NaN`` and the rest refused with a 400 naming the field, never pydantic's 422), so the
route takes no body parameter; the document still states the body, generated from the same
model the reader validates with, limits included.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DEFINITIONS = "#/$defs/"


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """``schema`` with every reference to a definition replaced by the definition (the models
    are not recursive), so it stands alone wherever the document puts it."""
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith(_DEFINITIONS):
        target = definitions[reference.removeprefix(_DEFINITIONS)]
        return _inlined(target, definitions)
    return {key: _inlined(value, definitions) for key, value in schema.items()}


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` as a request body takes it, standing alone."""
    schema = model.model_json_schema(ref_template=_DEFINITIONS + "{model}")
    definitions = schema.pop("$defs", {})
    inlined: dict[str, Any] = _inlined(schema, definitions)
    return inlined


def read_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads a JSON body of ``model``'s shape itself."""
    content = {"application/json": {"schema": body_schema(model)}}
    return {"requestBody": {"required": True, "content": content}}
