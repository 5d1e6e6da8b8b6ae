"""Routing rules of callback cases: which counselling organisation calls back the people whose
forms an organisation receives, for one borne site or for all of them (decision 0048).

A rule belongs to the organisation that receives intakes (a social landlord's front desk, most
often); ``place_organisation_id`` names the borne site it covers, or none for every site. The
cases of a covered intake open assigned to ``target_organisation_id`` and, with
``round_robin``, to its active prescribers in turn (``last_prescriber_id`` is the turn's cursor).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, Index, text
from sqlmodel import Field

from services.core.models.base import TableBase


class CallbackRoutingRule(TableBase, table=True):
    __tablename__ = "callback_routing_rule"
    __table_args__ = (
        # One rule per organisation and site, and one for "every site" (NULL is one value here).
        Index(
            "uq_callback_routing_rule_site",
            "organisation_id",
            "place_organisation_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", nullable=False, ondelete="CASCADE"
    )
    place_organisation_id: uuid.UUID | None = Field(
        default=None, foreign_key="organisation.id", ondelete="CASCADE"
    )
    target_organisation_id: uuid.UUID = Field(
        foreign_key="organisation.id", nullable=False, index=True, ondelete="CASCADE"
    )
    round_robin: bool = Field(
        default=False,
        sa_type=Boolean,
        nullable=False,
        sa_column_kwargs={"server_default": text("false")},
    )
    last_prescriber_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
