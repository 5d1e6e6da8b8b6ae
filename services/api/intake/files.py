"""``POST /v1/intakes`` in ``multipart/form-data``: the form's fields plus the scanned CV and/or
paper form (decision 0012 for the checks and the storage).

Every file is read and checked (size, magic bytes, name) before anything is written: a refused
file means no row and no file. Checked files wait in spools (memory up to 1 MiB, a temporary
file beyond), closed by the caller (:func:`close`). The accepted files are streamed to the
storage after the rows are flushed; if storing one fails, those already stored are deleted and
the request fails (nothing committed).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile

from services.api.body import in_body
from services.api.deps import settings_of
from services.api.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from services.api.intake.schemas import IntakeCreate
from services.api.validation import FieldError, validate_partly
from services.core.models.intake import IntakeFile, IntakeFileKind
from services.core.storage.base import Storage, new_key
from services.core.storage.uploads import (
    UploadRejected,
    ValidatedUpload,
    content_disposition,
    validate_upload,
)

FILE_FIELDS: dict[str, IntakeFileKind] = {"cv": IntakeFileKind.CV, "form_scan": IntakeFileKind.FORM}
_LIST_FIELDS = frozenset({"sectors_worked", "sectors_wanted", "needs"})
MAX_FORM_FIELDS = 100


@dataclass(frozen=True)
class Upload:
    kind: IntakeFileKind
    file: ValidatedUpload


@dataclass(frozen=True)
class Received:
    """What the request carries: the form (``None`` when it cannot be read at all, else read
    without its refused fields), its files, and the errors found so far (reported with those of
    the rules the form is checked against next, in one answer)."""

    body: IntakeCreate | None
    uploads: list[Upload]
    errors: list[FieldError]
    has_files: bool = False


async def read_json(request: Request) -> Received:
    body, errors = validate_partly(IntakeCreate, await request.body())
    return Received(body=body, uploads=[], errors=in_body(errors))


def _fields(form: FormData) -> dict[str, Any]:
    """The text fields as the JSON body would carry them: lists repeated, blanks left out."""
    values: dict[str, Any] = {}
    for name in {key for key, value in form.multi_items() if not isinstance(value, UploadFile)}:
        texts = [v for v in form.getlist(name) if isinstance(v, str)]
        if name in _LIST_FIELDS:
            # Repeated fields, or one field holding a JSON list.
            if len(texts) == 1 and texts[0].lstrip().startswith("["):
                try:
                    values[name] = json.loads(texts[0])
                    continue
                except ValueError:
                    pass
            values[name] = [t for t in texts if t.strip()]
        elif texts and texts[-1].strip():
            values[name] = texts[-1] if len(texts) == 1 else texts
    return values


async def read_multipart(request: Request) -> Received:
    """The form and its checked files; 413, 415 or 422 (problem+json) for a refused file."""
    max_bytes = settings_of(request.app).upload_max_bytes
    async with request.form(max_files=len(FILE_FIELDS), max_fields=MAX_FORM_FIELDS) as form:
        errors: list[FieldError] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile) and key not in FILE_FIELDS:
                errors.append(FieldError(loc=["body", key], message="champ inconnu", type="extra"))
        for key in FILE_FIELDS:
            if len(form.getlist(key)) > 1:
                errors.append(
                    FieldError(loc=["body", key], message="un seul fichier", type="too_long")
                )
        body, refused = validate_partly(IntakeCreate, _fields(form))
        errors += in_body(refused)
        has_files = any(form.get(key) is not None for key in FILE_FIELDS)
        if errors:
            # The files are checked once the fields are right: the rules across the fields
            # (read by the caller) are reported with these errors.
            return Received(body=body, uploads=[], errors=errors, has_files=has_files)
        uploads: list[Upload] = []
        for key, kind in FILE_FIELDS.items():
            item = form.get(key)
            if item is None:
                continue
            if not isinstance(item, UploadFile):
                raise ValidationFailed(
                    [FieldError(loc=["body", key], message="fichier attendu", type="file_type")]
                )
            try:
                checked = await validate_upload(item, filename=item.filename, max_bytes=max_bytes)
            except UploadRejected as exc:
                close(uploads)
                raise _rejected(key, exc) from None
            except BaseException:
                close(uploads)
                raise
            uploads.append(Upload(kind=kind, file=checked))
    return Received(body=body, uploads=uploads, errors=[], has_files=bool(uploads))


def close(uploads: list[Upload]) -> None:
    """Drop the spooled copies of the files (a temporary file each past 1 MiB)."""
    for upload in uploads:
        upload.file.close()


def _rejected(
    field: str, exc: UploadRejected
) -> PayloadTooLarge | UnsupportedMediaType | (ValidationFailed):
    errors = [FieldError(loc=["body", field], message=exc.message, type=exc.code)]
    if exc.status == 413:
        return PayloadTooLarge(f"{field} : {exc.message}.", extensions={"errors": _dump(errors)})
    if exc.status == 415:
        return UnsupportedMediaType(
            f"{field} : {exc.message}.", extensions={"errors": _dump(errors)}
        )
    return ValidationFailed(errors)


def _dump(errors: list[FieldError]) -> list[dict[str, Any]]:
    return [error.model_dump(mode="json") for error in errors]


async def store(
    session: AsyncSession, storage: Storage, intake_id: uuid.UUID, uploads: list[Upload]
) -> list[IntakeFile]:
    """Record and store the files of the intake: all of them, or none (and an exception)."""
    rows: list[IntakeFile] = []
    stored: list[str] = []
    try:
        for upload in uploads:
            key = new_key()
            # Streamed from the spool: the storage reads it in chunks.
            upload.file.rewind()
            await storage.put(key, upload.file)
            stored.append(key)
            row = IntakeFile(
                intake_id=intake_id,
                kind=upload.kind,
                storage_key=key,
                original_name=upload.file.filename,
                content_type=upload.file.media_type,
                size=upload.file.size,
                sha256=upload.file.sha256,
            )
            session.add(row)
            rows.append(row)
        await session.flush()
    except BaseException:
        for key in stored:
            await storage.delete(key)
        raise
    return rows


def download(storage: Storage, stored: IntakeFile) -> StreamingResponse:
    """A stored file streamed back as it was received: never cached, never sniffed."""
    return StreamingResponse(
        storage.open(stored.storage_key),
        media_type=stored.content_type,
        headers={
            "Content-Disposition": content_disposition(stored.original_name),
            "Content-Length": str(stored.size),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
