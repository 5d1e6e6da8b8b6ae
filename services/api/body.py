"""A JSON body read field by field, so that a route reports the errors of its rules (references,
residence…) in the same answer as those of its fields (decision 0047).

FastAPI refuses a body before the route runs: the rules, which need the database, would only be
checked once the fields are fixed, and a client would fix one request twice. A route that takes
``Annotated[Partly[Model], Depends(partly(Model))]`` instead receives what could be read and the
fields' errors, checks its rules, and calls :meth:`Partly.refuse` with their errors: one
``validation-failed`` problem lists them all, and nothing is written. ``openapi_extra=
body_schema(Model)`` documents the body as FastAPI would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from fastapi import Request

from services.api.errors import ValidationFailed
from services.api.validation import FieldError, Model, merge_errors, validate_partly


@dataclass(frozen=True)
class Partly(Generic[Model]):
    """A request's body: the fields that could be read (``None`` if too little could), and the
    errors of those that could not (``loc`` starting with ``"body"``, as FastAPI's)."""

    value: Model | None
    errors: list[FieldError]

    def readable(self) -> Model:
        """The fields that could be read; 422 with the fields' errors if the rules cannot be
        checked on them."""
        if self.value is None:
            raise ValidationFailed(self.errors)
        return self.value

    def refuse(self, rules: Sequence[FieldError] = ()) -> None:
        """422 with the fields' errors, then ``rules``' (a field refused as sent is not reported
        again by a rule), if there is any."""
        errors = merge_errors(self.errors, rules)
        if errors:
            raise ValidationFailed(errors)


def in_body(errors: list[FieldError]) -> list[FieldError]:
    """``errors`` located in the body, as FastAPI locates them."""
    for error in errors:
        error.loc = ["body", *error.loc]
    return errors


def partly(model: type[Model]) -> Callable[[Request], Awaitable[Partly[Model]]]:
    """A dependency reading the JSON body as ``model`` with :func:`validate_partly`."""

    async def read(request: Request) -> Partly[Model]:
        value, errors = validate_partly(model, await request.body())
        return Partly(value, in_body(errors))

    return read


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """``schema`` with its local ``$ref``s replaced by their definitions (no recursion here)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            # What stands beside the reference (the field's description) is kept.
            beside = {k: v for k, v in schema.items() if k != "$ref"}
            return {**_inlined(definitions[ref.removeprefix("#/$defs/")], definitions), **beside}
        return {k: _inlined(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    return schema


def json_schema(model: type[Any]) -> dict[str, Any]:
    """``model``'s JSON schema, whole (an OpenAPI document has no ``$defs`` of its own)."""
    schema = model.model_json_schema()
    inlined: dict[str, Any] = _inlined(schema, schema.get("$defs", {}))
    return inlined


def body_schema(model: type[Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting a required JSON body of ``model``."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": json_schema(model)}},
        }
    }
