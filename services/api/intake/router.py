"""``/v1/intakes``: the borne forms, one by one or a week's box at a time (decision 0014)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.status import HTTP_201_CREATED

from services.api.access import CREATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import json_schema
from services.api.deps import RequestIdDep, SessionDep, StorageDep, settings_of
from services.api.errors import NotFound, ValidationFailed
from services.api.intake import files
from services.api.intake.checks import Checked, Collection, CollectionRefused, check, collection
from services.api.intake.examples import MULTIPART_EXAMPLES
from services.api.intake.policy import policy
from services.api.intake.schemas import (
    BatchResult,
    IntakeBatch,
    IntakeCreate,
    IntakeCreated,
    IntakeFilePublic,
    IntakePublic,
)
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate
from services.api.people.batch import record_batch
from services.api.people.intakes import record
from services.api.referentials.indexes import indexes_of
from services.api.validation import Day, FieldError, merge_errors
from services.core.models.intake import Intake, IntakeFile, IntakeSource
from services.core.security.principal import Principal

router = APIRouter(prefix="/intakes", tags=["dépôts"])


_JSON_BODY_SCHEMA: dict[str, Any] = json_schema(IntakeCreate)
_FORM_FIELDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Les champs du formulaire (comme en JSON ; les listes en champs répétés) et "
    "les fichiers.",
    "properties": {
        "cv": {"type": "string", "format": "binary", "description": "CV (PDF, JPEG ou PNG)."},
        "form_scan": {
            "type": "string",
            "format": "binary",
            "description": "Le formulaire papier numérisé (PDF, JPEG ou PNG).",
        },
    },
    "additionalProperties": True,
}


async def _collection(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    body: IntakeCreate | IntakeBatch,
    request_id: str | None,
    *,
    batch: bool = False,
) -> Collection:
    indexes = indexes_of(request.app)
    return await collection(
        session,
        principal,
        source=body.source,
        place_organisation_id=body.place_organisation_id,
        collected_on=body.collected_on,
        request_id=request_id,
        qpv=await indexes.qpv_if_loaded(session),
        communes=await indexes.communes(session),
        cache_seconds=settings_of(request.app).auth_cache_seconds,
        batch=batch,
    )


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    summary="Enregistrer un formulaire de la borne",
    description="Le formulaire papier tel que saisi par l'accueil, en JSON ou en "
    "`multipart/form-data` avec le CV (`cv`) et/ou le formulaire numérisé (`form_scan`) : PDF, "
    "JPEG ou PNG reconnus à leurs premiers octets, 10 Mo au plus (413, 415 ou 422 sinon, et rien "
    "n'est enregistré). Un CV peut être déposé seul : la personne est alors créée sans identité, "
    "à compléter (`identified: false`). La personne est retrouvée par son téléphone ou son "
    "e-mail normalisés parmi celles de votre organisation (`status: linked`) ou créée "
    "(`created`, aussi quand seule une autre organisation la connaît). Émet `intake.received` et "
    "`candidate.created` ou, si la fiche est complétée, `candidate.updated`.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _JSON_BODY_SCHEMA},
                "multipart/form-data": {
                    "schema": _FORM_FIELDS_SCHEMA,
                    "examples": MULTIPART_EXAMPLES,
                },
            },
        }
    },
)
async def create_intake(
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    storage: StorageDep,
    request: Request,
    response: Response,
) -> IntakeCreated:
    policy.authorize(principal, CREATE)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        received = await files.read_multipart(request)
    else:
        received = await files.read_json(request)
    body, uploads, errors = received.body, received.uploads, received.errors
    # The checked files wait in spools (a temporary file each past 1 MiB) until stored.
    try:
        checked: Checked | list[FieldError] = []
        where: Collection | None = None
        if body is not None:
            # The rules are checked even when some fields were refused: every error of the
            # request is reported at once.
            try:
                where = await _collection(request, session, principal, body, request_id)
            except CollectionRefused as refused:
                errors = merge_errors(errors, refused.errors)
                where = refused.collection
            checked = check(
                body.form(), body.deposit_date, where, loc=["body"], has_files=received.has_files
            )
            if isinstance(checked, list):
                errors = merge_errors(errors, checked)
        if errors or not isinstance(checked, Checked) or where is None:
            raise ValidationFailed(errors)
        form = checked.form
        if uploads:
            # The intake and its files are stored together or not at all.
            async with session.begin_nested():
                (recorded,) = await record(session, where, [checked])
                stored = await files.store(session, storage, recorded.intake_id, uploads)
        else:
            # With no transaction open on the session, the write commits its own before the
            # answer (the one exception to "one request = one transaction": decision 0069).
            (recorded,) = await record(session, where, [checked])
            stored = []
        response.headers["Location"] = location(
            request, "read_intake", intake_id=recorded.intake_id
        )
        return IntakeCreated(
            intake_id=recorded.intake_id,
            candidate_id=recorded.candidate_id,
            status=recorded.outcome,
            identified=form.identifies(),
            files=[IntakeFilePublic.of(row) for row in stored],
        )
    finally:
        files.close(uploads)


@router.post(
    "/batch",
    summary="Enregistrer le relevé d'une borne (jusqu'à 500 formulaires)",
    description="Tous les formulaires relevés en une fois dans une borne : un lieu, une date de "
    "relevé, et pour chaque formulaire sa date de dépôt quand elle est connue. Chaque formulaire "
    "est vérifié et enregistré seul (dans son propre point de sauvegarde) : un formulaire "
    "invalide n'enregistre rien et n'empêche pas les autres. La réponse est toujours 200 quand "
    "le relevé lui-même est valide ; elle donne le résultat de chaque formulaire, dans l'ordre "
    "(`created`, `linked` ou `invalid` avec ses erreurs en français). Un lieu ou une date de "
    "relevé invalide refuse tout le relevé (422).",
)
async def create_batch(
    body: IntakeBatch,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
    request: Request,
) -> BatchResult:
    policy.authorize(principal, CREATE)
    where = await _collection(request, session, principal, body, request_id, batch=True)
    assert where.batch_id is not None
    results = await record_batch(session, where, body.forms)
    return BatchResult.of(where.batch_id, results)


@router.get(
    "",
    summary="Lister les dépôts",
    description="Les dépôts que l'appelant voit, du plus récent au plus ancien (date de dépôt) : "
    "un agent d'accueil, ceux qu'il a saisis (une clé d'API de rôle accueil, ceux qu'elle a "
    "envoyés) ; un prescripteur, ceux des personnes partagées avec son organisation ; un "
    "facilitateur, avec une organisation de son territoire ; l'administrateur, avec sa propre "
    "organisation. Employeurs et acheteurs : 403. Données personnelles : chaque page lue est "
    "inscrite au journal d'audit. Les filtres se cumulent ; `deposited_from` et `deposited_to` "
    "(AAAA-MM-JJ) sont inclus.",
)
async def list_intakes(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    request_id: RequestIdDep,
    candidate_id: Annotated[uuid.UUID | None, Query(description="Personne.")] = None,
    place_organisation_id: Annotated[uuid.UUID | None, Query(description="Lieu.")] = None,
    batch_id: Annotated[uuid.UUID | None, Query(description="Relevé.")] = None,
    source: Annotated[IntakeSource | None, Query(description="Origine.")] = None,
    deposited_from: Annotated[Day | None, Query(description="Déposés ce jour ou après.")] = None,
    deposited_to: Annotated[Day | None, Query(description="Déposés ce jour ou avant.")] = None,
) -> Page[IntakePublic]:
    query = policy.query(principal)
    if candidate_id is not None:
        query = query.where(col(Intake.candidate_id) == candidate_id)
    if place_organisation_id is not None:
        query = query.where(col(Intake.place_organisation_id) == place_organisation_id)
    if batch_id is not None:
        query = query.where(col(Intake.batch_id) == batch_id)
    if source is not None:
        query = query.where(col(Intake.source) == source)
    if deposited_from is not None:
        query = query.where(col(Intake.deposit_date) >= deposited_from)
    if deposited_to is not None:
        query = query.where(col(Intake.deposit_date) <= deposited_to)
    query = query.order_by(col(Intake.deposit_date).desc(), col(Intake.id).desc())
    rows, total = await paginate(session, query, pagination)
    policy.audit_list(session, principal, list(rows), request_id=request_id)
    attached = await _files_of(session, [row.id for row in rows])
    return Page[IntakePublic].build(
        [IntakePublic.of(row, attached.get(row.id, [])) for row in rows], total, pagination
    )


@router.get(
    "/{intake_id}",
    summary="Lire un dépôt",
    description="Un dépôt que l'appelant voit (mêmes règles que la liste ; sinon 404) : les "
    "réponses du formulaire telles que saisies, le consentement, et les fichiers joints, à "
    "télécharger par `GET /v1/intakes/{intake_id}/files/{file_id}`. La lecture est inscrite au "
    "journal d'audit.",
)
async def read_intake(
    intake_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> IntakePublic:
    intake = await policy.get(session, principal, intake_id, request_id=request_id)
    attached = await _files_of(session, [intake.id])
    return IntakePublic.of(intake, attached.get(intake.id, []))


async def _files_of(
    session: AsyncSession, intake_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[IntakeFile]]:
    if not intake_ids:
        return {}
    rows = await session.scalars(
        select(IntakeFile)
        .where(col(IntakeFile.intake_id).in_(intake_ids))
        .order_by(col(IntakeFile.created_at), col(IntakeFile.id))
    )
    attached: dict[uuid.UUID, list[IntakeFile]] = {}
    for row in rows:
        attached.setdefault(row.intake_id, []).append(row)
    return attached


@router.get(
    "/{intake_id}/files/{file_id}",
    summary="Télécharger un fichier d'un dépôt (CV ou formulaire numérisé)",
    description="Le fichier tel que déposé, avec son type (PDF, JPEG ou PNG), son nom nettoyé "
    "(`Content-Disposition`) et `Cache-Control: private, no-store`, pour qui voit le dépôt "
    "(mêmes règles que sa lecture ; sinon 404). Chaque téléchargement est inscrit au journal "
    "d'audit.",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def download_file(
    intake_id: uuid.UUID,
    file_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    storage: StorageDep,
    request_id: RequestIdDep,
) -> StreamingResponse:
    """Within the caller's scope only (the intake's policy); every download is audited."""
    intake = await policy.get(session, principal, intake_id)
    stored = await session.scalar(
        select(IntakeFile).where(
            col(IntakeFile.id) == file_id, col(IntakeFile.intake_id) == intake.id
        )
    )
    if stored is None or not await storage.exists(stored.storage_key):
        raise NotFound("Fichier introuvable.")
    policy.audit(
        session,
        principal,
        "download",
        intake,
        request_id=request_id,
        details={"file_id": str(stored.id), "kind": stored.kind.value},
    )
    return files.download(storage, stored)
