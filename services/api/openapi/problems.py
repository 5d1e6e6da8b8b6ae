"""The error responses of each operation, with their problem ``type`` values, read from the code.

An operation can answer the errors its endpoint and its dependencies refer to, directly or through
the project's functions they call: the code of each is read (its syntax tree) and every name that
resolves to a :class:`MaillonError` subclass is one of its problems; every name that resolves to a
function or class of the project is read in turn. The middleware's answers are added by rule
(idempotency on every POST, body limit, unreachable dependencies, conditional updates).

It over-approximates (an error caught on the way is still listed) rather than forgetting one.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from functools import cache
from types import FunctionType, ModuleType
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from services.api.errors import (
    PROBLEM_TYPE_BASE,
    InternalError,
    InvalidCharacter,
    MaillonError,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    ServiceUnavailable,
    ValidationFailed,
)
from services.api.idempotency import IdempotencyKeyInProgress, IdempotencyKeyReused

_PROJECT = "services."
# Every operation may answer these: a bug (500) or PostgreSQL / Redis out of reach (503).
_ALWAYS: tuple[type[MaillonError], ...] = (InternalError, ServiceUnavailable)
_WITH_BODY: tuple[type[MaillonError], ...] = (PayloadTooLarge, ValidationFailed)
_POST: tuple[type[MaillonError], ...] = (IdempotencyKeyReused, IdempotencyKeyInProgress)
_IF_MATCH: tuple[type[MaillonError], ...] = (PreconditionRequired, PreconditionFailed)


def _code_of(function: Callable[..., Any]) -> ast.AST | None:
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    try:
        return ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; ``None`` for anything else (calls, subscripts…)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _resolve(names: list[str], scope: dict[str, Any]) -> Any:
    if names[0] not in scope:
        return None
    value = scope[names[0]]
    for name in names[1:]:
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


def _of_project(value: Any) -> bool:
    module = getattr(value, "__module__", None)
    return isinstance(module, str) and module.startswith(_PROJECT)


def _referred(function: Callable[..., Any]) -> Iterator[Any]:
    """The project's objects ``function``'s code names."""
    tree = _code_of(function)
    if tree is None:
        return
    scope = dict(getattr(function, "__globals__", {}))
    # A route built by a function (services/api/resources.py) names what it closes over:
    # ``self.policy``, the service function it was given…
    with suppress(TypeError):
        scope.update(inspect.getclosurevars(inspect.unwrap(function)).nonlocals)
    if inspect.ismethod(function):
        scope["self"] = function.__self__
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and (names := _dotted(node)) is not None:
            value = _resolve(names, scope)
            if value is not None and not isinstance(value, ModuleType) and _of_project(value):
                yield value


def _functions_of(value: Any) -> Iterator[Callable[..., Any]]:
    if isinstance(value, type):
        for member in vars(value).values():
            inner = getattr(member, "__func__", member)
            if isinstance(inner, FunctionType):
                yield inner
    elif callable(value):
        yield inspect.unwrap(value)


@cache
def _errors_reached(function: Callable[..., Any]) -> frozenset[type[MaillonError]]:
    found: set[type[MaillonError]] = set()
    seen: set[Callable[..., Any]] = set()
    todo = [function]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for value in _referred(current):
            if isinstance(value, type) and issubclass(value, MaillonError):
                found.add(value)
                continue
            todo.extend(f for f in _functions_of(value) if _of_project(f) and f not in seen)
    return frozenset(found)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def api_routes(app: FastAPI) -> Iterator[RouteContext]:
    """The routes of the document, as mounted (prefixes and the routers' dependencies)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def operation_errors(route: RouteContext) -> set[type[MaillonError]]:
    errors: set[type[MaillonError]] = set(_ALWAYS)
    for call in _calls(route.dependant):
        for function in _functions_of(call):
            if _of_project(function):
                errors |= _errors_reached(function)
    methods = route.methods or set()
    if route.body_field is not None or "POST" in methods:
        errors.update(_WITH_BODY)
    if "POST" in methods:
        errors.update(_POST)
    dependant = route.dependant
    if route.body_field is not None or dependant.query_params or dependant.path_params:
        # Text the database cannot hold, wherever it was sent (services/api/errors.py).
        errors.add(InvalidCharacter)
    headers = {param.alias.lower() for param in route.dependant.header_params}
    if "if-match" in headers:
        errors.update(_IF_MATCH)
    return errors


def _example(error: type[MaillonError], path: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.default_detail,
        "instance": path,
        "request_id": "3f1c2a9e8b7d4c60",
    }
    if issubclass(error, ValidationFailed):
        body["errors"] = [
            {"loc": ["body", "name"], "message": "champ obligatoire", "type": "missing"}
        ]
    return body


def _describe(errors: Iterable[type[MaillonError]]) -> str:
    return "\n".join(
        f"- `{PROBLEM_TYPE_BASE}{error.code}` : {error.title}"
        for error in sorted(errors, key=lambda e: e.code)
    )


_STATUS_TEXT = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    409: "Conflit avec l'état de la ressource",
    412: "Version périmée (If-Match)",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    422: "Données invalides ou caractère interdit",
    428: "En-tête If-Match requis",
    429: "Trop de requêtes",
    500: "Erreur interne",
    503: "Service momentanément indisponible",
}


def declare_problems(app: FastAPI, schema: dict[str, Any], media_type: str) -> None:
    """Each operation's error statuses, with the problem types each may carry (in the
    description, and one example each)."""
    for route in api_routes(app):
        path = route.path_format
        path_item = schema.get("paths", {}).get(path)
        if path is None or path_item is None:
            continue
        by_status: dict[int, set[type[MaillonError]]] = {}
        for error in operation_errors(route):
            by_status.setdefault(error.status, set()).add(error)
        for method in sorted(route.methods or ()):
            operation = path_item.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(by_status):
                errors = sorted(by_status[status], key=lambda e: e.code)
                response = responses.setdefault(
                    str(status),
                    {
                        "description": _STATUS_TEXT.get(status, "Erreur"),
                        "content": {
                            media_type: {"schema": {"$ref": "#/components/schemas/Problem"}}
                        },
                    },
                )
                response["description"] = (
                    response["description"].split("\n\n")[0] + "\n\n" + _describe(errors)
                )
                content = response.setdefault("content", {}).setdefault(media_type, {})
                content["examples"] = {
                    error.code: {"summary": error.title, "value": _example(error, path)}
                    for error in errors
                }
