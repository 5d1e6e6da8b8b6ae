"""Routes that exist only in tests, to exercise the API conventions on real tables."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Column, MetaData, String, Table, Uuid, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep
from services.api.errors import Conflict, NotFound
from services.api.pagination import Page, PaginationDep, paginate
from services.api.validation import InvalidValue
from services.core.events import Consumer, Event, emit
from services.core.ids import uuid7
from services.core.models.outbox import OutboxEvent

router = APIRouter(prefix="/test")


class Pinged(Event):
    type: ClassVar[str] = "test.pinged"
    consumers: ClassVar[frozenset[Consumer]] = frozenset()
    ping_id: uuid.UUID


async def count_pings(session: AsyncSession) -> int:
    """Pinged events in the outbox: how many times a ping route really ran."""
    query = select(func.count()).where(col(OutboxEvent.type) == Pinged.type)
    count: int = (await session.execute(query)).scalar_one()
    return count


class PingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(max_length=20)


class PingOut(BaseModel):
    event_id: uuid.UUID
    note: str


@router.post("/pings", status_code=201)
async def create_ping(
    body: PingIn, session: SessionDep, request_id: RequestIdDep, response: Response
) -> PingOut:
    row = emit(session, Pinged(ping_id=uuid7()), request_id=request_id)
    await session.flush()
    response.headers["Location"] = f"/test/pings/{row.id}"
    return PingOut(event_id=row.id, note=body.note)


@router.post("/pings/refused", status_code=201)
async def create_refused_ping(body: PingIn, session: SessionDep) -> PingOut:
    emit(session, Pinged(ping_id=uuid7()))
    await session.flush()
    raise Conflict("Ce signal est refusé.")


@router.post("/pings/broken", status_code=201)
async def create_broken_ping(body: PingIn, session: SessionDep) -> PingOut:
    emit(session, Pinged(ping_id=uuid7()))
    await session.flush()
    raise RuntimeError("note=Jeanne Dupont, 06 12 34 56 78")


@router.post("/pings/uncommittable", status_code=201)
async def create_uncommittable_ping(session: SessionDep) -> PingOut:
    """Two rows with the same id: the failure only shows at commit (the flush it triggers)."""
    event_id = uuid7()
    session.add(OutboxEvent(id=event_id, type=Pinged.type, payload={}))
    session.add(OutboxEvent(id=event_id, type=Pinged.type, payload={}))
    return PingOut(event_id=event_id, note="jamais")


@router.post("/slow")
async def slow(request: Request) -> dict[str, str]:
    """Waits for the test to open ``app.state.gate``: a request still in flight."""
    request.app.state.entered.set()
    await request.app.state.gate.wait()
    return {"status": "done"}


def arm_slow_route(app: FastAPI) -> tuple[asyncio.Event, asyncio.Event]:
    app.state.entered = asyncio.Event()
    app.state.gate = asyncio.Event()
    return app.state.entered, app.state.gate


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret: Jeanne Dupont, né en 1990")


@router.get("/database-down")
async def database_down() -> None:
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))


@router.get("/database")
async def database(session: SessionDep) -> dict[str, int]:
    return {"one": (await session.execute(text("SELECT 1"))).scalar_one()}


@router.get("/database/sleep")
async def database_sleep(session: SessionDep) -> None:
    await session.execute(text("SELECT pg_sleep(2)"))


# Held by tests/api/test_errors.py to make this route wait for a lock.
TEST_ADVISORY_KEY = 424242


@router.get("/database/lock")
async def database_lock(session: SessionDep) -> None:
    await session.execute(text(f"SELECT pg_advisory_xact_lock({TEST_ADVISORY_KEY})"))


@router.get("/missing")
async def missing() -> None:
    raise NotFound("Ce candidat n'existe pas.")


class Sector(StrEnum):
    building = "btp"
    cleaning = "proprete"


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=5)
    age: int
    ref: uuid.UUID
    born: date
    at: datetime
    sector: Sector
    siret: str

    @field_validator("siret")
    @classmethod
    def _siret(cls, value: str) -> str:
        if not value.isdigit():
            raise InvalidValue("SIRET : 14 chiffres attendus")
        return value


@router.post("/forms")
async def submit_form(form: Form) -> dict[str, str]:
    return {"name": form.name}


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str


@router.get("/events")
async def list_events(
    session: SessionDep, pagination: PaginationDep, type: str | None = None
) -> Page[EventOut]:
    statement = select(OutboxEvent).order_by(col(OutboxEvent.occurred_at), col(OutboxEvent.id))
    if type is not None:
        statement = statement.where(col(OutboxEvent.type) == type)
    rows, total = await paginate(session, statement, pagination)
    return Page[EventOut].build([EventOut.model_validate(r) for r in rows], total, pagination)


# A small resource in a temporary table the tests create in their own transaction.
notes = Table(
    "test_note",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("body", String(200), nullable=False),
)
CREATE_NOTES = "CREATE TEMP TABLE test_note (id uuid PRIMARY KEY, body varchar(200) NOT NULL)"


class Note(BaseModel):
    id: uuid.UUID
    body: str


class NoteUpdate(BaseModel):
    body: Annotated[str, Field(max_length=200)]


async def _load_note(session: SessionDep, note_id: uuid.UUID) -> Note:
    row = (await session.execute(select(notes).where(notes.c.id == note_id))).one_or_none()
    if row is None:
        raise NotFound("Cette note n'existe pas.")
    return Note(id=row.id, body=row.body)


@router.get("/notes/{note_id}")
async def read_note(
    note_id: uuid.UUID, session: SessionDep, if_none_match: IfNoneMatchDep, response: Response
) -> Note:
    note = await _load_note(session, note_id)
    etag = etag_of(note)
    if_none_match.check(etag)
    response.headers["ETag"] = etag
    return note


@router.put("/notes/{note_id}")
async def update_note(
    note_id: uuid.UUID,
    body: NoteUpdate,
    session: SessionDep,
    if_match: IfMatchDep,
    response: Response,
) -> Note:
    if_match.check(etag_of(await _load_note(session, note_id)))
    await session.execute(update(notes).where(notes.c.id == note_id).values(body=body.body))
    note = Note(id=note_id, body=body.body)
    response.headers["ETag"] = etag_of(note)
    return note
