"""The OpenAPI document a frontend team builds on: valid, complete, its errors and webhooks listed.

The document is built as the application builds it (no database needed: nothing connects)."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from openapi_spec_validator import validate
from pydantic import BaseModel

from services.api.app import create_app
from services.api.errors import PROBLEM_TYPES
from services.core.events import EVENT_TYPES
from services.core.settings import Settings
from services.core.webhooks import PAYLOAD_VERSION, PUBLIC_EVENTS, body_of
from tests.api.conftest import UNREACHABLE_POSTGRES, UNREACHABLE_REDIS

METHODS: Final = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(
        environment="test", database_url=UNREACHABLE_POSTGRES, redis_url=UNREACHABLE_REDIS
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in sorted(document["paths"].items()):
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_description_explains_the_conventions(document: dict[str, Any]) -> None:
    text = document["info"]["description"]
    for subject in ("Authorization: Bearer", "X-API-Key", "?page=", "Idempotency-Key", "If-Match"):
        assert subject in text, subject
    assert "application/problem+json" in text
    # Every problem type the code can answer, in the table.
    for code in PROBLEM_TYPES:
        assert f"`/problems/{code}`" in text, code


def test_each_operation_lists_its_errors_with_their_problem_types(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    offer = paths["/v1/offers/{offer_id}"]
    # Read from the code: who may not read, what does not exist.
    read = offer["get"]["responses"]
    assert "/problems/unauthorized" in read["401"]["description"]
    assert "/problems/not-found" in read["404"]["description"]
    assert "/problems/service-unavailable" in read["503"]["description"]
    assert "412" not in read
    update = offer["put"]["responses"] if "put" in offer else offer["patch"]["responses"]
    assert set(update["412"]["content"]["application/problem+json"]["examples"]) == {
        "precondition-failed"
    }
    assert "/problems/precondition-required" in update["428"]["description"]
    publish = paths["/v1/offers/{offer_id}/publish"]["post"]["responses"]
    conflicts = set(publish["409"]["content"]["application/problem+json"]["examples"])
    assert {"contract-not-active", "idempotency-key-reused"} <= conflicts
    public = paths["/v1/public/offers"]["get"]["responses"]
    assert "401" not in public
    assert "/problems/too-many-requests" in public["429"]["description"]
    for name, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.isdigit() and int(status) >= 400:
                for code, example in (
                    response["content"]["application/problem+json"].get("examples", {}).items()
                ):
                    assert example["value"]["status"] == int(status), (name, code)


def test_every_webhook_event_type_is_documented_with_a_valid_example(
    document: dict[str, Any],
) -> None:
    webhooks = document["webhooks"]
    assert set(webhooks) == set(PUBLIC_EVENTS)
    components = document["components"]["schemas"]
    for event_type, item in webhooks.items():
        body = item["post"]["requestBody"]["content"]["application/json"]
        schema = {"$ref": body["schema"]["$ref"], "components": {"schemas": components}}
        example = body["example"]
        assert example["version"] == PAYLOAD_VERSION
        assert example["type"] == event_type
        # What the sender writes for this example's event is the example.
        event = EVENT_TYPES[event_type].model_validate(example["data"])
        sent = json.loads(body_of(event, datetime.fromisoformat(example["timestamp"])))
        assert sent == example
        validator = jsonschema_rs.validator_for(schema)
        validator.validate(example)
        with pytest.raises(jsonschema_rs.ValidationError):
            validator.validate({**example, "version": PAYLOAD_VERSION + 1})


# -- completeness: what a frontend team reads instead of asking ---------------------------------


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema and len(schema) == 1:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _undescribed_properties(
    document: dict[str, Any], schema: dict[str, Any], where: str
) -> Iterator[str]:
    """``where.property`` for each property without a description, in ``schema`` and the inline
    schemas it holds (named schemas are checked once, under their own name)."""
    for name, prop in schema.get("properties", {}).items():
        if not prop.get("description"):
            yield f"{where}.{name}"
        yield from _undescribed_properties(document, prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _undescribed_properties(document, schema[key], f"{where}[]")
    for key in ("anyOf", "oneOf", "allOf"):
        for inner in schema.get(key, []):
            yield from _undescribed_properties(document, inner, where)


def missing_text(document: dict[str, Any]) -> list[str]:
    missing: list[str] = []
    for name, operation in operations(document):
        for member in ("summary", "description"):
            if not operation.get(member, "").strip():
                missing.append(f"{name}: pas de {member}")
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            schema = _resolve(document, content.get("schema", {}))
            if not (content.get("example") or content.get("examples") or schema.get("examples")):
                missing.append(f"{name}: corps {media_type} sans exemple")
            if "properties" in content.get("schema", {}):
                where = f"{name} (corps {media_type})"
                missing += list(_undescribed_properties(document, content["schema"], where))
    for schema_name, schema in sorted(document["components"]["schemas"].items()):
        missing += list(_undescribed_properties(document, schema, schema_name))
    return missing


def test_every_operation_body_and_property_is_described(document: dict[str, Any]) -> None:
    missing = missing_text(document)
    assert not missing, f"{len(missing)} textes manquants :\n" + "\n".join(missing)


def test_every_request_body_example_is_valid(document: dict[str, Any]) -> None:
    """An example a client copies must pass the schema it illustrates."""
    refused: list[str] = []
    for name, operation in operations(document):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            schema = content.get("schema", {})
            resolved = _resolve(document, schema)
            examples = [content["example"]] if "example" in content else []
            examples += [e["value"] for e in content.get("examples", {}).values()]
            examples += resolved.get("examples", [])
            validator = jsonschema_rs.validator_for(
                {**schema, "components": document["components"]}
            )
            for example in examples:
                for error in validator.iter_errors(example):
                    refused.append(f"{name} ({media_type}): {error.message}")
    assert not refused, "\n".join(refused)


# -- one language: French for the readers, the docstrings stay English for the developers -------

# FastAPI's own texts, in English, when an operation says nothing.
FASTAPI_DEFAULTS: Final = {"Successful Response", "Validation Error"}


def _project_objects() -> Iterator[tuple[str, Any]]:
    """``(qualified name, object)`` for each class and function of the project, once built into
    the application."""
    for module in list(sys.modules.values()):
        module_name = getattr(module, "__name__", "")
        if not module_name.startswith("services."):
            continue
        for name, value in vars(module).items():
            is_code = inspect.isclass(value) or inspect.isfunction(value)
            if is_code and value.__module__ == module_name:
                yield f"{module_name}.{name}", value


def _docstrings() -> dict[str, str]:
    """Each docstring of the project, as pydantic (schemas) and FastAPI (operations, cut at a
    form feed) copy it into the document, with whose it is."""
    found: dict[str, str] = {}
    for name, value in _project_objects():
        if value.__doc__:
            text = inspect.cleandoc(value.__doc__)
            for copied in (text, text.split("\f")[0].strip()):
                found[copied] = name
    return found


def _texts(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for each ``description`` and ``summary`` of the document, examples'
    values left out (they are data, not texts)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{where}/{key}", value
            elif key not in ("example", "examples", "value", "default", "const", "enum"):
                yield from _texts(value, f"{where}/{key}")
            elif key == "examples" and isinstance(value, dict):
                for name, example in value.items():
                    if isinstance(example, dict) and isinstance(example.get("summary"), str):
                        yield f"{where}/examples/{name}/summary", example["summary"]
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _texts(item, f"{where}/{index}")


def test_no_docstring_or_framework_default_is_a_text_of_the_document(
    app: FastAPI, document: dict[str, Any]
) -> None:
    """A model's, an enum's or an endpoint's docstring (English, for developers) does not reach
    the document in place of its French text, nor do FastAPI's default texts."""
    docstrings = _docstrings()
    leaks = [
        f"{where}: {docstrings[text]}" if text in docstrings else f"{where}: {text!r}"
        for where, text in _texts(document, "")
        if text in docstrings or text in FASTAPI_DEFAULTS
    ]
    # FastAPI's summary when none is given: the function's name, in English.
    leaks += [
        f"{sorted(route.methods or ())} {route.path}: pas de summary"
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema and route.summary is None
    ]
    assert not leaks, f"{len(leaks)} textes en anglais :\n" + "\n".join(sorted(leaks))


def _french_description(model: type[BaseModel]) -> Any:
    extra = model.model_config.get("json_schema_extra")
    return extra.get("description") if isinstance(extra, dict) else None


def test_a_model_description_is_its_own(app: FastAPI) -> None:
    """A model's French text (``json_schema_extra``) is inherited with its configuration: a
    subclass would show its parent's as its own. (``app``: every model imported.)"""
    inherited = [
        f"{name} : celle de {base.__qualname__}"
        for name, value in _project_objects()
        if inspect.isclass(value) and issubclass(value, BaseModel)
        for base in value.__mro__[1:]
        if issubclass(base, BaseModel)
        and _french_description(value) is not None
        and _french_description(value) == _french_description(base)
    ]
    assert not inherited, "Descriptions héritées :\n" + "\n".join(inherited)
