"""The domain exception hierarchy and its one rendering: RFC 9457 ``application/problem+json``.

Services raise a :class:`MaillonError` subclass; the handlers installed by
:func:`install_error_handlers` turn it, FastAPI's validation errors and Starlette's routing errors
into a problem document::

    {"type": "/problems/not-found", "title": "Ressource introuvable", "status": 404,
     "detail": "…", "instance": "/v1/offers/…", "request_id": "…"}

``type`` is a stable, relative URI (``/problems/<code>``, resolved against the API's own origin):
clients branch on it, never on ``title`` or ``detail``, which are French text for people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.api.context import request_id_of
from services.api.validation import FieldError, french_errors

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/problems/"
RETRY_AFTER_SECONDS = 5


class MaillonError(Exception):
    """An expected failure, with its HTTP status, stable ``code`` and French title and detail."""

    status: int = 500
    code: str = "internal-error"
    title: str = "Erreur interne"
    default_detail: str = (
        "Une erreur inattendue est survenue. Si elle persiste, communiquez l'identifiant de "
        "requête au support."
    )

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.headers = dict(headers or {})
        # Extra members of the problem document (RFC 9457 §3.2): ``errors``, ``checks``…
        self.extensions = dict(extensions or {})
        super().__init__(self.detail)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The first class of a code names it (subclasses sharing a code only change details).
        PROBLEM_TYPES.setdefault(cls.code, cls)

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_BASE + self.code


PROBLEM_TYPES: dict[str, type[MaillonError]] = {MaillonError.code: MaillonError}
"""Every problem ``type`` the API can answer, by code: each error class registers its own when
its module is imported (the OpenAPI document lists them, per operation and in its description).
"""


def problem_types_table() -> str:
    """The registered problem types as a Markdown table, ordered by status then code."""
    rows = sorted(PROBLEM_TYPES.values(), key=lambda cls: (cls.status, cls.code))
    lines = ["| `type` | statut | titre |", "|---|---|---|"]
    lines += [f"| `{PROBLEM_TYPE_BASE}{c.code}` | {c.status} | {c.title} |" for c in rows]
    return "\n".join(lines)


class BadRequest(MaillonError):
    status = 400
    code = "bad-request"
    title = "Requête invalide"
    default_detail = "La requête est mal formée."


class Unauthorized(MaillonError):
    status = 401
    code = "unauthorized"
    title = "Authentification requise"
    default_detail = "Cette ressource demande une authentification valide."


class Forbidden(MaillonError):
    status = 403
    code = "forbidden"
    title = "Accès refusé"
    default_detail = "Vous n'avez pas les droits nécessaires pour cette action."


class NotFound(MaillonError):
    status = 404
    code = "not-found"
    title = "Ressource introuvable"
    default_detail = "Aucune ressource à cette adresse."


class MethodNotAllowed(MaillonError):
    status = 405
    code = "method-not-allowed"
    title = "Méthode non autorisée"
    default_detail = "Cette méthode n'est pas acceptée à cette adresse (voir l'en-tête Allow)."


class Conflict(MaillonError):
    status = 409
    code = "conflict"
    title = "Conflit"
    default_detail = "La requête est en conflit avec l'état actuel de la ressource."


class PreconditionFailed(MaillonError):
    status = 412
    code = "precondition-failed"
    title = "Version périmée"
    default_detail = (
        "La ressource a changé depuis votre lecture (If-Match ne correspond plus). "
        "Relisez-la puis réessayez."
    )


class PayloadTooLarge(MaillonError):
    status = 413
    code = "payload-too-large"
    title = "Requête trop volumineuse"
    default_detail = "Le corps de la requête dépasse la taille acceptée."


class UnsupportedMediaType(MaillonError):
    status = 415
    code = "unsupported-media-type"
    title = "Type de contenu non pris en charge"
    default_detail = "Le corps doit être envoyé en JSON (Content-Type: application/json)."


class InvalidCharacter(MaillonError):
    """Text the database cannot hold (a NUL character), wherever it was sent: body, form field or
    query. Raised from the database's refusal, so every field of every route is covered."""

    status = 422
    code = "invalid-character"
    title = "Caractère interdit"
    default_detail = (
        "Le texte envoyé contient un caractère interdit (caractère nul, \\u0000). "
        "Retirez-le puis réessayez."
    )


class ValidationFailed(MaillonError):
    """A malformed request: each problem is listed in ``errors`` (never with the value sent)."""

    status = 422
    code = "validation-failed"
    title = "Données invalides"
    default_detail = "La requête contient des données invalides : voir « errors »."

    def __init__(
        self, errors: Sequence[FieldError], detail: str | None = None, **kwargs: Any
    ) -> None:
        self.errors = list(errors)
        extensions = {"errors": [e.model_dump(mode="json") for e in self.errors]}
        super().__init__(detail, extensions=extensions, **kwargs)


class PreconditionRequired(MaillonError):
    status = 428
    code = "precondition-required"
    title = "En-tête If-Match requis"
    default_detail = (
        "Cette modification exige l'en-tête If-Match avec l'ETag de la version lue, "
        "pour ne pas écraser la modification de quelqu'un d'autre."
    )


class InternalError(MaillonError):
    pass


class ServiceUnavailable(MaillonError):
    status = 503
    code = "service-unavailable"
    title = "Service momentanément indisponible"
    default_detail = (
        "Un service dont dépend l'API est momentanément injoignable. "
        "Réessayez dans quelques instants."
    )

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))


class Problem(BaseModel):
    """The problem document, for the OpenAPI schema."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "Le corps de toute réponse d'erreur (`application/problem+json`, RFC "
            "9457)."
        }
    )

    type: str = Field(
        description="Sorte d'erreur, stable : `/problems/<code>` (liste dans la description de "
        "l'API). Un programme décide d'après elle, jamais d'après les textes."
    )
    title: str = Field(description="Intitulé de la sorte d'erreur, en français.")
    status: int = Field(description="Statut HTTP de la réponse.")
    detail: str = Field(description="Ce qui s'est passé et que faire, en français.")
    instance: str | None = Field(
        default=None, description="Chemin de la requête (sans ses paramètres)."
    )
    request_id: str | None = Field(
        default=None,
        description="Identifiant de la requête (aussi en-tête X-Request-ID), à donner au support.",
    )


class ValidationProblem(Problem):
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Le corps d'une réponse 422 : un problème (`application/problem+json`) "
            "et la liste `errors` des données refusées."
        }
    )

    errors: list[FieldError] = Field(description="Chaque donnée refusée, avec son emplacement.")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_response(request: Request, error: MaillonError) -> Response:
    body: dict[str, Any] = {
        "type": error.type_uri,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        # The path only: a query string may carry personal data.
        "instance": request.url.path,
        "request_id": request_id_of(request),
        **error.extensions,
    }
    return ProblemResponse(body, status_code=error.status, headers=error.headers)


_FROM_HTTP_STATUS: dict[int, type[MaillonError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        PreconditionRequired,
        ServiceUnavailable,
    )
}


def error_for_status(status: int, headers: Mapping[str, str] | None = None) -> MaillonError:
    """The domain error matching a status raised by Starlette or FastAPI themselves."""
    cls = _FROM_HTTP_STATUS.get(status)
    return cls(headers=headers) if cls is not None else HTTPError(status, headers=headers)


class HTTPError(MaillonError):
    """Any other status raised by the framework, with a generic French text."""

    def __init__(self, status: int, *, headers: Mapping[str, str] | None = None) -> None:
        client_error = 400 <= status < 500
        super().__init__(
            f"La requête a été refusée (HTTP {status})."
            if client_error
            else f"Le serveur n'a pas pu traiter la requête (HTTP {status}).",
            headers=headers,
        )
        self.status = status
        self.code = f"http-{status}"
        self.title = "Requête refusée" if client_error else "Erreur du serveur"


async def _maillon_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MaillonError)
    return problem_response(request, exc)


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(request, ValidationFailed(french_errors(exc.errors())))


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette's own detail is English and may name internals: the status decides the text.
    return problem_response(request, error_for_status(exc.status_code, exc.headers))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MaillonError, _maillon_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)


def problem_responses() -> dict[int | str, dict[str, Any]]:
    """Documented error responses shared by every route (FastAPI's ``responses=``)."""
    return {
        # validation-failed lists its ``errors``; invalid-character (refused by the database,
        # field unknown) has none.
        422: {
            "model": ValidationProblem | Problem,
            "description": "Données invalides ou caractère interdit",
        },
        "4XX": {"model": Problem, "description": "Erreur du client"},
        "5XX": {"model": Problem, "description": "Erreur du serveur"},
    }
