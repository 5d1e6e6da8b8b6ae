"""Recording intakes: one form, or a week's box of them (decision 0014).

Each form is checked on its own (:mod:`.checks`: syntax, dates, commune, residence, phone and
e-mail, every error at once), then recorded (:mod:`.recording`: the person found again among
those the caller holds, or created; the intake, its events and its audit written in one
statement); a box checks every form first and writes the valid ones, leaving out those the
database refuses (:mod:`.batch`). This module gathers what the routes use.
"""

from __future__ import annotations

from services.api.intake.batch import STORAGE_FAILED, record_batch
from services.api.intake.checks import (
    EMPTY_FORM,
    UNKNOWN_QPV,
    Checked,
    Collection,
    CollectionRefused,
    check,
    check_batch_form,
    collection,
    today,
)
from services.api.intake.recording import REFUSED, Recorded, record

__all__ = [
    "EMPTY_FORM",
    "REFUSED",
    "STORAGE_FAILED",
    "UNKNOWN_QPV",
    "Checked",
    "Collection",
    "CollectionRefused",
    "Recorded",
    "check",
    "check_batch_form",
    "collection",
    "record",
    "record_batch",
    "today",
]
