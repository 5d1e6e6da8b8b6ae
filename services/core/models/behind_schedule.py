"""The record that a contract was announced behind schedule for a period (§8.6): the event and
the facilitator's alert go out once per contract and period, not on every computation."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Numeric, UniqueConstraint
from sqlmodel import Field

from services.core.models.base import TableBase


class BehindScheduleNotice(TableBase, table=True):
    __tablename__ = "behind_schedule_notice"
    __table_args__ = (UniqueConstraint("contract_id", "period_start"),)

    contract_id: uuid.UUID = Field(foreign_key="contract.id", nullable=False, ondelete="CASCADE")
    # The first day of the calendar quarter the contract was found behind in.
    period_start: date = Field(sa_type=Date, nullable=False)
    # What was found, for the record: hours counted against the hours expected by then.
    counted_hours: Decimal = Field(sa_type=Numeric(12, 2), nullable=False)
    expected_hours: Decimal = Field(sa_type=Numeric(12, 2), nullable=False)
