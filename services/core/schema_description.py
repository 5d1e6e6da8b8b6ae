"""The French description of an enum in the JSON schemas (the API's OpenAPI document).

pydantic copies a class's docstring, written in English for developers, into its schema's
``description``; the document is French. A model gives its text with
``model_config = ConfigDict(json_schema_extra={"description": "…"})``; an enum, which has no
``model_config``, with ``__get_pydantic_json_schema__ = schema_description("…")`` in its body
(a dunder: not a member). tests/api/test_openapi.py fails on a docstring left in the document."""

from __future__ import annotations

from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def schema_description(text: str) -> classmethod[Any, [CoreSchema, GetJsonSchemaHandler], Any]:
    """The enum's ``__get_pydantic_json_schema__``: its schema, described by ``text``."""

    def described(
        cls: type[Any], core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        handler.resolve_ref_schema(json_schema)["description"] = text
        return json_schema

    return classmethod(described)
