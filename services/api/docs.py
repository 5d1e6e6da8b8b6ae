"""OpenAPI 3.1 schema, Swagger UI and ReDoc, served from the API itself (no CDN, works offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from services.api.errors import PROBLEM_MEDIA_TYPE
from services.api.idempotency import IDEMPOTENCY_KEY_HEADER
from services.api.openapi.description import api_description
from services.api.openapi.problems import declare_problems
from services.api.openapi.webhooks import declare_webhooks

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
STATIC_PATH = "/docs/static"
# Swagger UI 5 (renders OpenAPI 3.1) and ReDoc 2 as shipped in the fastapi-offline wheel (MIT,
# like both); only its assets.
SWAGGER_UI_ASSETS = Path(fastapi_offline.__file__).parent / "static"
_PROBLEM_SCHEMAS = ("#/components/schemas/Problem", "#/components/schemas/ValidationProblem")


class MaillonAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = super().openapi()
            schema["info"]["description"] = api_description()
            _declare_problem_media_type(schema)
            declare_problems(self, schema, PROBLEM_MEDIA_TYPE)
            declare_webhooks(schema)
            _declare_idempotency_key(schema)
            _declare_not_modified(schema)
            _describe_successes(schema)
        return super().openapi()


def _declare_problem_media_type(schema: dict[str, Any]) -> None:
    """FastAPI files every response model under ``application/json``; errors are problems."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                body = content.get("application/json", {}).get("schema", {})
                refs = [body.get("$ref")] + [s.get("$ref") for s in body.get("anyOf", [])]
                if any(ref in _PROBLEM_SCHEMAS for ref in refs):
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _describe_successes(schema: dict[str, Any]) -> None:
    """FastAPI describes a success it was told nothing about in English: say it in French."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if response.get("description") == _FASTAPI_SUCCESS:
                    response["description"] = _SUCCESSES.get(status, "Succès.")


_FASTAPI_SUCCESS = "Successful Response"
_SUCCESSES = {"200": "Succès.", "201": "Créé.", "204": "Fait ; la réponse n'a pas de corps."}


def _declare_not_modified(schema: dict[str, Any]) -> None:
    """A read taking If-None-Match answers 304, without a body, when the client's copy is current
    (services/api/conditional.py)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            names = {p.get("name", "").lower() for p in operation.get("parameters", [])}
            if "if-none-match" in names:
                operation["responses"].setdefault("304", _NOT_MODIFIED)


_NOT_MODIFIED = {
    "description": "Non modifié : la copie du client (If-None-Match) est à jour.",
    "headers": {
        "ETag": {"description": "ETag de la version courante.", "schema": {"type": "string"}}
    },
}


def _declare_idempotency_key(schema: dict[str, Any]) -> None:
    """Every POST accepts the header (the middleware handles it, no route declares it)."""
    for path_item in schema.get("paths", {}).values():
        if "post" in path_item:
            path_item["post"].setdefault("parameters", []).append(_IDEMPOTENCY_KEY_PARAMETER)


_IDEMPOTENCY_KEY_PARAMETER = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Clé unique choisie par le client (1 à 255 caractères ASCII visibles). Renvoyer la même "
        "requête avec la même clé rejoue la première réponse (en-tête Idempotent-Replayed) "
        "au lieu de l'exécuter deux fois."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def install_docs(app: FastAPI) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=SWAGGER_UI_ASSETS), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — documentation de l'API",
            swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
            # Swagger UI would otherwise send the schema to an online validator.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — documentation de l'API",
            redoc_js_url=f"{root}{STATIC_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
            # The page would otherwise load its fonts from Google.
            with_google_fonts=False,
        )
