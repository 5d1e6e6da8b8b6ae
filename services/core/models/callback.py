"""Callback cases (rappels): the 30-day window in which a counsellor must call a person back.

An intake opens a case for its candidate unless one is open (product.md §6). The case holds its
own alert schedule (``next_alert_kind`` / ``next_alert_at``, indexed) so that the periodic sweep
finds every due alert with one indexed query; ``alerts_raised`` lists the alerts already raised.
See docs/decisions/0020-callback-cases-and-schedule.md.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from services.core.clock import now
from services.core.models.base import EnumText, TableBase
from services.core.schema_description import schema_description

MAX_ATTEMPTS = 3  # the initial call and at most 2 follow-ups


class CallbackStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


CALLBACK_STATUS_LABELS: dict[CallbackStatus, str] = {
    CallbackStatus.OPEN: "À rappeler",
    CallbackStatus.CLOSED: "Clos",
}


class AttemptChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    IN_PERSON = "in_person"


ATTEMPT_CHANNEL_LABELS: dict[AttemptChannel, str] = {
    AttemptChannel.PHONE: "Téléphone",
    AttemptChannel.SMS: "SMS",
    AttemptChannel.EMAIL: "E-mail",
    AttemptChannel.IN_PERSON: "En personne",
}


class AttemptResult(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    MESSAGE_LEFT = "message_left"


ATTEMPT_RESULT_LABELS: dict[AttemptResult, str] = {
    AttemptResult.REACHED: "Personne jointe",
    AttemptResult.NO_ANSWER: "Pas de réponse",
    AttemptResult.WRONG_NUMBER: "Faux numéro",
    AttemptResult.MESSAGE_LEFT: "Message laissé",
}


class CallbackOutcome(StrEnum):
    """The suite donnée. ``unreachable`` is never chosen: the third failed attempt sets it."""

    __get_pydantic_json_schema__ = schema_description(
        "Suite donnée au rappel : `job_offer` (proposition d'emploi), `training` (orientation "
        "vers une formation), `support` (accompagnement), `advice` (conseil), `referred` "
        "(orientation vers un partenaire), `not_interested` (pas intéressé), `unreachable` "
        "(injoignable : jamais choisie, posée par la troisième tentative sans réponse)."
    )

    JOB_OFFER = "job_offer"
    TRAINING = "training"
    SUPPORT = "support"
    ADVICE = "advice"
    REFERRED = "referred"
    NOT_INTERESTED = "not_interested"
    UNREACHABLE = "unreachable"


CALLBACK_OUTCOME_LABELS: dict[CallbackOutcome, str] = {
    CallbackOutcome.JOB_OFFER: "Proposition d'emploi",
    CallbackOutcome.TRAINING: "Orientation vers une formation",
    CallbackOutcome.SUPPORT: "Accompagnement",
    CallbackOutcome.ADVICE: "Conseil",
    CallbackOutcome.REFERRED: "Orientation vers un partenaire",
    CallbackOutcome.NOT_INTERESTED: "Pas intéressé",
    CallbackOutcome.UNREACHABLE: "Injoignable",
}


class CallbackAlertKind(StrEnum):
    ASSIGNED = "assigned"
    REMINDER = "reminder"
    URGENT = "urgent"
    OVERDUE = "overdue"
    FOLLOW_UP = "follow_up"


CALLBACK_ALERT_KIND_LABELS: dict[CallbackAlertKind, str] = {
    CallbackAlertKind.ASSIGNED: "Attribution",
    CallbackAlertKind.REMINDER: "Relance (aucune tentative au 14e jour)",
    CallbackAlertKind.URGENT: "Urgent (25e jour)",
    CallbackAlertKind.OVERDUE: "Délai dépassé (30e jour)",
    CallbackAlertKind.FOLLOW_UP: "Nouvelle tentative à faire",
}


class CallbackCase(TableBase, table=True):
    """One person to call back within 30 days of the deposit date."""

    __tablename__ = "callback_case"
    __table_args__ = (
        # One open case per candidate: a second intake meanwhile is recorded on the open one.
        Index(
            "uq_callback_case_open_candidate",
            "candidate_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        # The sweep: every case whose next alert is due, in one indexed range scan.
        Index(
            "ix_callback_case_next_alert_at",
            "next_alert_at",
            postgresql_where=text("next_alert_at IS NOT NULL"),
        ),
        # Inboxes: open cases of an organisation by due date.
        Index("ix_callback_case_inbox", "organisation_id", "status", "due_at"),
        CheckConstraint(
            f"attempt_count >= 0 AND attempt_count <= {MAX_ATTEMPTS}", name="attempt_count_range"
        ),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_at_when_closed"),
    )

    candidate_id: uuid.UUID = Field(
        foreign_key="candidate.id", nullable=False, index=True, ondelete="RESTRICT"
    )
    # The intake that opened the case.
    intake_id: uuid.UUID = Field(
        foreign_key="intake.id", nullable=False, unique=True, ondelete="RESTRICT"
    )
    # Copied from that intake for the quarterly report: who received it, where it was dropped.
    received_by_organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", nullable=False, index=True, ondelete="RESTRICT"
    )
    place_organisation_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisation.id", index=True, ondelete="RESTRICT"
    )
    deposit_date: date = Field(sa_type=Date, nullable=False, index=True)
    # Midnight (Europe/Paris) at the start of deposit date + 30 days: the window closes then.
    due_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)

    # Assignment: an organisation, and optionally one prescriber of it.
    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", nullable=False, ondelete="RESTRICT"
    )
    prescriber_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    assigned_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
    # 1 for the first assignment, +1 on each reassignment (keys its "assigned" alert).
    assignment_number: int = Field(default=1, sa_type=SmallInteger, nullable=False)

    status: CallbackStatus = Field(
        default=CallbackStatus.OPEN, sa_type=EnumText(CallbackStatus, 10), nullable=False
    )
    opened_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
    attempt_count: int = Field(default=0, sa_type=SmallInteger, nullable=False)
    first_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_attempt_result: AttemptResult | None = Field(
        default=None, sa_type=EnumText(AttemptResult, 20)
    )
    reached_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    outcome: CallbackOutcome | None = Field(default=None, sa_type=EnumText(CallbackOutcome, 20))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

    # The person came back (another intake) while the case was open.
    returned_count: int = Field(default=0, sa_type=SmallInteger, nullable=False)
    last_returned_on: date | None = Field(default=None, sa_type=Date)

    # The schedule: the next alert to raise (None once closed or nothing is left), and the
    # alerts already raised ("assigned:1", "reminder", "follow_up:2"…).
    next_alert_kind: CallbackAlertKind | None = Field(
        default=None, sa_type=EnumText(CallbackAlertKind, 20)
    )
    next_alert_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    alerts_raised: list[str] = Field(
        default_factory=list, sa_type=ARRAY(String(40)), nullable=False
    )


class CallbackAttempt(TableBase, table=True):
    """One attempt to reach the person: number 1 is the initial call, 2 and 3 the follow-ups."""

    __tablename__ = "callback_attempt"
    __table_args__ = (
        UniqueConstraint("case_id", "number"),
        CheckConstraint(f"number >= 1 AND number <= {MAX_ATTEMPTS}", name="number_range"),
    )

    case_id: uuid.UUID = Field(foreign_key="callback_case.id", nullable=False, ondelete="CASCADE")
    number: int = Field(sa_type=SmallInteger, nullable=False)
    channel: AttemptChannel = Field(sa_type=EnumText(AttemptChannel, 20), nullable=False)
    result: AttemptResult = Field(sa_type=EnumText(AttemptResult, 20), nullable=False)
    attempted_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
    actor_type: str = Field(sa_type=String(20), nullable=False)  # user | api_key
    actor_id: uuid.UUID | None = Field(default=None)
    comment: str | None = Field(default=None, sa_type=String(1000))


class CallbackSettings(SQLModel, table=True):
    """An organisation's own alert schedule; a column left empty takes the instance setting
    (``MAILLON_CALLBACK_*``)."""

    __tablename__ = "callback_settings"
    __table_args__ = (
        CheckConstraint(
            "office_start_hour IS NULL OR office_end_hour IS NULL "
            "OR office_start_hour < office_end_hour",
            name="office_hours_order",
        ),
    )

    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", primary_key=True, ondelete="CASCADE"
    )
    reminder_day: int | None = Field(default=None, sa_type=SmallInteger)
    urgent_day: int | None = Field(default=None, sa_type=SmallInteger)
    follow_up_working_days: int | None = Field(default=None, sa_type=SmallInteger)
    office_start_hour: int | None = Field(default=None, sa_type=SmallInteger)
    office_end_hour: int | None = Field(default=None, sa_type=SmallInteger)
    updated_at: datetime = Field(
        default_factory=now, sa_type=DateTime(timezone=True), nullable=False
    )
