"""The access matrix: every endpoint, every role, own organisation or territory vs another one.

Acceptance of the issue "Organisations, people and access control; contracts and offers": nothing
forbidden is readable or writable; an object outside the caller's scope answers 404 for reads and
writes alike (no existence leak), an action the role may not take on a visible object 403, no
credentials 401. Every personal-data read is audited; no failure is.

``MATRIX`` below is the specification, written from docs/decisions/0008-access-control.md (and
0009 for contracts and offers), not from the policies' code. Where 0008 leaves a choice, the
reading that protects data best was taken; those cells carry a comment.

**The world**, in each test's rolled-back transaction, of which a case builds only the parts it
uses (an organisation comes with its parents)::

    operator ─ admin, admin colleague
    facilitation A ─ facilitator A (+ colleague)          facilitation B ─ the same shape
      ├─ employer A   ─ employer A (+ colleague)
      ├─ landlord A   ─ reception A (+ colleague)   (social landlord, front desk)
      ├─ agency A     ─ prescriber A (+ colleague)  (France Travail)
      └─ buyer A      ─ buyer staff A

**Callers**: admin (operator), facilitator, prescriber, reception, employer — all of territory A —,
an API key of employer A acting as ``employer`` with the scope ``offers:read`` only, and anonymous.

**Targets** (what the call is about):

- ``own``: the caller's side of territory A. Organisations, API keys and creations of
  organisations, accounts and keys: the caller's organisation (the operator for the admin). Users:
  a colleague of the caller's organisation (another admin for the admin). Contracts: territory A's
  buyer's, held by territory A's employer. Offers: a draft of territory A's employer (an open one
  for ``close``). Audit entries: one written by an actor of territory A.
- ``other``: the same kind of object in territory B (the admin's "other" is facilitation B's).
- ``network``: an object of territory A's buyer, below the facilitator, in no caller's
  organisation (organisations, users, API keys).
- ``self``: the caller's own account (users; not for the key nor anonymous).
- ``own open`` / ``other open``: an open (published) offer of territory A's / B's employer.
- ``-``: the endpoint concerns no particular object (``/v1/me``, referentials).

Actions get the object in the state they need (``activate``: a draft contract with a holder;
``confirm``: a discovered one; contract ``close``: an active one without open offers;
``publish``: a complete draft; offer ``close``: an open offer), and every write a valid body with
the current ``If-Match``, so that an allowed call succeeds and a refused one is refused for access
reasons only.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import httpx
import pytest
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from services.api.app import create_app
from services.api.referentials.indexes import RomeIndex, load_rome_index
from services.core import audit
from services.core.callbacks.schedule import due_at as callback_due_at
from services.core.clock import FrozenClock, now
from services.core.db import create_sessionmaker
from services.core.geo.qpv import QpvIndex
from services.core.models.api_key import ApiKey
from services.core.models.audit import AuditEntry
from services.core.models.callback import AttemptResult, CallbackCase
from services.core.models.callback_routing import CallbackRoutingRule
from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.contract import ContractStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.intake import Intake, IntakeFile, IntakeFileKind, IntakeSource
from services.core.models.match import MatchStatus
from services.core.models.notification import WebhookSubscription
from services.core.models.offer import OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.referentials.loader import ImportSummary
from services.core.referentials.store import DatasetKind, current_dataset
from services.core.security import passwords
from services.core.security.principal import Principal
from services.core.security.tokens import new_api_key
from services.core.settings import Settings
from services.core.storage import create_storage
from services.core.storage.base import new_key
from services.core.webhooks import new_secret
from tests.api.shared_app import TestTransaction, shared_app
from tests.factories import (
    PASSWORD,
    bearer,
    make_candidate,
    make_contract,
    make_match,
    make_offer,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.usefixtures("reference_data", "clock")

# -- the specification -------------------------------------------------------------------------

Outcome = str | int | None

OK: Final = "ok"  # 2xx
IN: Final = "listed"  # a list answers 200 and the target is among its items
OUT: Final = "unlisted"  # a list answers 200 and the target is not among its items
NA: Final = None  # no such cell (the key and anonymous have no account of their own)

CALLERS: Final = ("admin", "facilitator", "prescriber", "reception", "employer", "key", "anonymous")

# The SMS provider's delivery reports are authenticated by an HMAC of the body, not by a caller
# (tests/api/test_notification_preferences.py checks that no bearer token replaces it).
PUBLIC: Final = frozenset(
    {"GET /v1", "POST /v1/auth/token", "POST /v1/auth/logout", "POST /v1/notifications/sms-status"}
)

# Referentials: every authenticated caller; the key lacks the scope "referentials:read".
_REFERENTIAL: Final[dict[str, tuple[Outcome, ...]]] = {"-": (OK, OK, OK, OK, OK, 403, 401)}

# operation → target → expected outcome for each caller, in the order of CALLERS.
MATRIX: Final[dict[str, dict[str, tuple[Outcome, ...]]]] = {
    # -- the caller's own account. Not in 0008: a key has no account, hence 404 ---------------
    "GET /v1/me": {
        #            admin facil presc recep emplo  key  anon
        "-":         (OK,  OK,   OK,   OK,   OK,   404, 401),
    },
    # -- referentials: every authenticated caller --------------------------------------------
    "GET /v1/referentials/rome": _REFERENTIAL,
    "GET /v1/referentials/rome/{code}": _REFERENTIAL,
    "GET /v1/referentials/sectors": _REFERENTIAL,
    "GET /v1/referentials/sectors/{code}": _REFERENTIAL,
    "GET /v1/referentials/communes": _REFERENTIAL,
    "GET /v1/referentials/communes/{insee}": _REFERENTIAL,
    "GET /v1/referentials/qpv": _REFERENTIAL,
    # -- organisations: seen by everyone; admin changes all, a facilitator its territory -------
    "GET /v1/organisations": {
        #            admin facil presc recep emplo  key  anon
        "own":       (IN,  IN,   IN,   IN,   IN,   403, 401),
        "other":     (IN,  IN,   IN,   IN,   IN,   403, 401),
        "network":   (IN,  IN,   IN,   IN,   IN,   403, 401),
    },
    "GET /v1/organisations/{organisation_id}": {
        "own":       (OK,  OK,   OK,   OK,   OK,   403, 401),
        "other":     (OK,  OK,   OK,   OK,   OK,   403, 401),
        "network":   (OK,  OK,   OK,   OK,   OK,   403, 401),
    },
    "POST /v1/organisations": {  # target: the new organisation's parent
        "own":       (OK,  OK,   403,  403,  403,  403, 401),
        "other":     (OK,  403,  403,  403,  403,  403, 401),
        "network":   (OK,  OK,   403,  403,  403,  403, 401),
    },
    "PATCH /v1/organisations/{organisation_id}": {
        "own":       (OK,  OK,   403,  403,  403,  403, 401),
        "other":     (OK,  403,  403,  403,  403,  403, 401),
        "network":   (OK,  OK,   403,  403,  403,  403, 401),
    },
    # -- users: admin all; facilitator its territory; others their organisation's -------------
    # Reception: 0008 gives front desks "organisations, open offers and referentials only", which
    # is read as "no one else's account" (stricter than the table's "their own organisation's");
    # its own account stays readable, as through /v1/me.
    "GET /v1/users": {
        #            admin facil presc recep emplo  key  anon
        "own":       (IN,  IN,   IN,   OUT,  IN,   403, 401),
        "other":     (IN,  OUT,  OUT,  OUT,  OUT,  403, 401),
        "network":   (IN,  IN,   OUT,  OUT,  OUT,  403, 401),
    },
    "GET /v1/users/{user_id}": {
        "own":       (OK,  OK,   OK,   404,  OK,   403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
        "network":   (OK,  OK,   404,  404,  404,  403, 401),
        "self":      (OK,  OK,   OK,   OK,   OK,   NA,  NA),
    },
    "POST /v1/users": {  # target: the new account's organisation
        "own":       (OK,  OK,   403,  403,  403,  403, 401),
        "other":     (OK,  403,  403,  403,  403,  403, 401),
        "network":   (OK,  OK,   403,  403,  403,  403, 401),
    },
    "PATCH /v1/users/{user_id}": {
        "own":       (OK,  OK,   403,  404,  403,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
        "network":   (OK,  OK,   404,  404,  404,  403, 401),
        "self":      (OK,  OK,   403,  403,  403,  NA,  NA),
    },
    # A password is the account's owner's (with the current one) or reset by an admin. 0008 lets
    # a facilitator "change" the users of its territory; setting their password would let it
    # take their accounts over: read as not included (403).
    "POST /v1/users/{user_id}/password": {
        "own":       (OK,  403,  403,  404,  403,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
        "network":   (OK,  403,  404,  404,  404,  403, 401),
        "self":      (OK,  OK,   OK,   OK,   OK,   NA,  NA),
    },
    # -- API keys: admin all; admin and facilitator the keys of their own organisation ---------
    # A role that sees no key at all may not list them (403).
    "GET /v1/api-keys": {
        #            admin facil presc recep emplo  key  anon
        "own":       (IN,  IN,   403,  403,  403,  403, 401),
        "other":     (IN,  OUT,  403,  403,  403,  403, 401),
        "network":   (IN,  OUT,  403,  403,  403,  403, 401),
    },
    "GET /v1/api-keys/{api_key_id}": {
        "own":       (OK,  OK,   404,  404,  404,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
        "network":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/api-keys": {  # target: the organisation the key acts for
        "own":       (OK,  OK,   403,  403,  403,  403, 401),
        "other":     (OK,  403,  403,  403,  403,  403, 401),
        "network":   (OK,  403,  403,  403,  403,  403, 401),
    },
    "DELETE /v1/api-keys/{api_key_id}": {
        "own":       (OK,  OK,   404,  404,  404,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
        "network":   (OK,  404,  404,  404,  404,  403, 401),
    },
    # -- audit log: admin only ------------------------------------------------------------------
    "GET /v1/audit": {
        "own":       (IN,  403,  403,  403,  403,  403, 401),
        "other":     (IN,  403,  403,  403,  403,  403, 401),
    },
    # -- contracts: admin; facilitators of the buyer's or a holder's territory; the buyer's and
    # holders' users. Changes: admin, facilitators of the territory. Reception: never (0009), so
    # it may not list them (403), like the roles that see no key or no audit entry.
    "GET /v1/contracts": {
        #            admin facil presc recep emplo  key  anon
        "own":       (IN,  IN,   OUT,  403,  IN,   403, 401),
        "other":     (IN,  OUT,  OUT,  403,  OUT,  403, 401),
    },
    "GET /v1/contracts/{contract_id}": {
        "own":       (OK,  OK,   404,  404,  OK,   403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/contracts": {  # target: the buyer and holder of the new contract
        "own":       (OK,  OK,   403,  403,  403,  403, 401),
        "other":     (OK,  403,  403,  403,  403,  403, 401),
    },
    "PATCH /v1/contracts/{contract_id}": {
        "own":       (OK,  OK,   404,  404,  403,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/contracts/{contract_id}/activate": {
        "own":       (OK,  OK,   404,  404,  403,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/contracts/{contract_id}/close": {
        "own":       (OK,  OK,   404,  404,  403,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/contracts/{contract_id}/confirm": {  # a contract found in open data (0064)
        "own":       (OK,  OK,   404,  404,  403,  403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    # -- offers: open ones seen by every caller; drafts by admin, the employer's facilitators
    # and its users. Changes: admin, facilitators of the territory, the employer's users.
    "GET /v1/offers": {
        #             admin facil presc recep emplo  key  anon
        "own":        (IN,  IN,   OUT,  OUT,  IN,   IN,  401),
        "other":      (IN,  OUT,  OUT,  OUT,  OUT,  OUT, 401),
        "own open":   (IN,  IN,   IN,   IN,   IN,   IN,  401),
        "other open": (IN,  IN,   IN,   IN,   IN,   IN,  401),
    },
    "GET /v1/offers/{offer_id}": {
        "own":        (OK,  OK,   404,  404,  OK,   OK,  401),
        "other":      (OK,  404,  404,  404,  404,  404, 401),
        "own open":   (OK,  OK,   OK,   OK,   OK,   OK,  401),
        "other open": (OK,  OK,   OK,   OK,   OK,   OK,  401),
    },
    "POST /v1/offers": {  # target: the new offer's employer
        "own":        (OK,  OK,   403,  403,  OK,   403, 401),
        "other":      (OK,  403,  403,  403,  403,  403, 401),
    },
    "PATCH /v1/offers/{offer_id}": {
        "own":        (OK,  OK,   404,  404,  OK,   403, 401),
        "other":      (OK,  404,  404,  404,  404,  403, 401),
        "own open":   (OK,  OK,   403,  403,  OK,   403, 401),
        "other open": (OK,  403,  403,  403,  403,  403, 401),
    },
    # Deleting is for drafts only (an open offer is closed): who may change a draft may delete it.
    "DELETE /v1/offers/{offer_id}": {  # a draft
        "own":        (OK,  OK,   404,  404,  OK,   403, 401),
        "other":      (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/offers/{offer_id}/publish": {  # a draft
        "own":        (OK,  OK,   404,  404,  OK,   403, 401),
        "other":      (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/offers/{offer_id}/close": {  # an open offer: visible to all
        "own":        (OK,  OK,   403,  403,  OK,   403, 401),
        "other":      (OK,  403,  403,  403,  403,  403, 401),
    },
    # -- public offers (decision 0062): open offers marked public, listed for everyone, the
    # anonymous caller included, whatever the credentials; nothing else. ``own`` / ``other``:
    # an open public offer of territory A's / B's employer; ``own private``: open, not public;
    # ``own draft``: public, not yet published.
    **{
        operation: {
            #              admin facil presc recep emplo  key  anon
            "own":         (IN,  IN,   IN,   IN,   IN,   IN,  IN),
            "other":       (IN,  IN,   IN,   IN,   IN,   IN,  IN),
            "own private": (OUT, OUT,  OUT,  OUT,  OUT,  OUT, OUT),
            "own draft":   (OUT, OUT,  OUT,  OUT,  OUT,  OUT, OUT),
        }
        for operation in (
            "GET /v1/public/offers",
            "GET /v1/public/offers/json-ld",
            "GET /v1/public/offers/france-travail",
        )
    },
    # -- candidates (decision 0011): seen through their shares. ``own``: shared with agency A
    # (prescriber A's) and keyed in by reception A; ``other``: the same in territory B;
    # ``operator``: shared with the admin's own organisation. The admin is no counsellor: it sees
    # only the last. Employers never read candidates (403 for lists, 404 for one).
    "GET /v1/candidates": {
        #             admin facil presc recep emplo  key  anon
        "own":        (OUT, IN,   IN,   IN,   403,  403, 401),
        "other":      (OUT, OUT,  OUT,  OUT,  403,  403, 401),
        "operator":   (IN,  OUT,  OUT,  OUT,  403,  403, 401),
    },
    "POST /v1/candidates/search": {
        "own":        (OUT, IN,   IN,   IN,   403,  403, 401),
        "other":      (OUT, OUT,  OUT,  OUT,  403,  403, 401),
        "operator":   (IN,  OUT,  OUT,  OUT,  403,  403, 401),
    },
    "GET /v1/candidates/duplicates": {
        "-":          (OK,  OK,   OK,   OK,   403,  403, 401),
    },
    "POST /v1/candidates": {
        "-":          (OK,  OK,   OK,   403,  403,  403, 401),
    },
    "GET /v1/candidates/{candidate_id}": {
        "own":        (404, OK,   OK,   OK,   404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "PATCH /v1/candidates/{candidate_id}": {
        "own":        (404, OK,   OK,   403,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "DELETE /v1/candidates/{candidate_id}": {
        "own":        (404, OK,   403,  403,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "GET /v1/candidates/{candidate_id}/export": {
        "own":        (404, OK,   OK,   403,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    # Merging is for facilitators and admins: the other roles are refused before any look-up.
    "POST /v1/candidates/{candidate_id}/merge": {
        "own":        (404, OK,   403,  403,  403,  403, 401),
        "other":      (404, 404,  403,  403,  403,  403, 401),
        "operator":   (OK,  404,  403,  403,  403,  403, 401),
    },
    "GET /v1/candidates/{candidate_id}/eligibility": {
        "own":        (404, OK,   OK,   OK,   404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/candidates/{candidate_id}/eligibility": {
        "own":        (404, OK,   403,  403,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "DELETE /v1/candidates/{candidate_id}/eligibility/{criterion_id}": {
        "own":        (404, OK,   403,  403,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    # -- intakes (decision 0014): the front desk sees what it keyed in; counsellors the intakes
    # of candidates shared with their organisation or territory; the admin only those of its own
    # organisation's candidates; employers never. ``own``: keyed by reception A for a candidate
    # shared with agency A. Creating: every role but employers (at a place of territory A).
    "POST /v1/intakes": {
        #             admin facil presc recep emplo  key  anon
        "-":          (OK,  OK,   OK,   OK,   403,  403, 401),
    },
    "POST /v1/intakes/batch": {
        "-":          (OK,  OK,   OK,   OK,   403,  403, 401),
    },
    "GET /v1/intakes": {
        "own":        (OUT, IN,   IN,   IN,   403,  403, 401),
        "other":      (OUT, OUT,  OUT,  OUT,  403,  403, 401),
    },
    "GET /v1/intakes/{intake_id}": {
        "own":        (404, OK,   OK,   OK,   404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
    },
    "GET /v1/intakes/{intake_id}/files/{file_id}": {
        "own":        (404, OK,   OK,   OK,   404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
    },
    # -- matches (decision 0017): a match is seen by whoever sees its offer and its candidate;
    # employers see the matches of their own offers once proposed to them; front desks never
    # (403 before any look-up). ``own``: territory A's open offer and a candidate shared with
    # agency A, proposed to the employer; ``own suggested``: not yet proposed; ``other``: the
    # same in territory B; ``other closed``: on a closed offer of territory B; ``operator``: a
    # candidate of the admin's organisation on territory B's open offer.
    "GET /v1/offers/{offer_id}/matches": {
        #                admin facil presc recep emplo  key  anon
        "own":           (OUT, IN,   IN,   403,  IN,   403, 401),
        "own suggested": (OUT, IN,   IN,   403,  OUT,  403, 401),
        "other":         (OUT, OUT,  OUT,  403,  OUT,  403, 401),
        "other closed":  (OUT, 404,  404,  403,  404,  403, 401),
        "operator":      (IN,  OUT,  OUT,  403,  OUT,  403, 401),
    },
    "GET /v1/candidates/{candidate_id}/matches": {
        "own":           (404, IN,   IN,   403,  404,  403, 401),
        "other":         (404, 404,  404,  403,  404,  403, 401),
        "operator":      (IN,  404,  404,  403,  404,  403, 401),
    },
    # Why a candidate is (not) ranked for an offer (decision 0040): whoever sees the offer and
    # the candidate's matches; the same targets as the candidate's matches.
    "GET /v1/offers/{offer_id}/candidates/{candidate_id}/ranking": {
        "own":           (404, OK,   OK,   403,  404,  403, 401),
        "other":         (404, 404,  404,  403,  404,  403, 401),
        "operator":      (OK,  404,  404,  403,  404,  403, 401),
    },
    # ``own``, ``other``, ``operator``: hired; ``own suggested``: contacted; ``own withdraw``: a
    # proposed match withdrawn, which an employer may not do (it hires or declines).
    "POST /v1/matches/{match_id}/transitions": {
        "own":           (404, OK,   OK,   403,  OK,   403, 401),
        "own suggested": (404, OK,   OK,   403,  404,  403, 401),
        "own withdraw":  (404, OK,   OK,   403,  403,  403, 401),
        "other":         (404, 404,  404,  403,  404,  403, 401),
        "operator":      (OK,  404,  404,  403,  404,  403, 401),
    },
    # What the employer needs to call a person proposed to it (decision 0049): whoever sees the
    # match (``own``, ``other``, ``operator``: proposed); the employer sees no suggestion at all,
    # counsellors see the person anyway. After a decline: tests/api/test_match_contact.py.
    "GET /v1/matches/{match_id}/contact": {
        #                admin facil presc recep emplo  key  anon
        "own":           (404, OK,   OK,   403,  OK,   403, 401),
        "own suggested": (404, OK,   OK,   403,  404,  403, 401),
        "other":         (404, 404,  404,  403,  404,  403, 401),
        "operator":      (OK,  404,  404,  403,  404,  403, 401),
    },
    "GET /v1/matches/{match_id}/cv/{file_id}": {
        "own":           (404, OK,   OK,   403,  OK,   403, 401),
        "own suggested": (404, OK,   OK,   403,  404,  403, 401),
        "other":         (404, 404,  404,  403,  404,  403, 401),
        "operator":      (OK,  404,  404,  403,  404,  403, 401),
    },
    # -- callback cases (decision 0020): the cases assigned to the caller's organisation (to a
    # facilitator, its territory's) or to the caller; the admin only its own organisation's (as
    # for candidates); front desks and employers never (403 for lists, 404 for one). ``own``: a
    # case assigned to agency A; ``other``: to agency B; ``operator``: to the admin's organisation.
    "GET /v1/callbacks": {
        #             admin facil presc recep emplo  key  anon
        "own":        (OUT, IN,   IN,   403,  403,  403, 401),
        "other":      (OUT, OUT,  OUT,  403,  403,  403, 401),
        "operator":   (IN,  OUT,  OUT,  403,  403,  403, 401),
    },
    "GET /v1/callbacks/{callback_id}": {
        "own":        (404, OK,   OK,   404,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/callbacks/{callback_id}/attempts": {
        "own":        (404, OK,   OK,   404,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/callbacks/{callback_id}/outcome": {
        "own":        (404, OK,   OK,   404,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/callbacks/{callback_id}/assign": {
        "own":        (404, OK,   OK,   404,  404,  403, 401),
        "other":      (404, 404,  404,  404,  404,  403, 401),
        "operator":   (OK,  404,  404,  404,  404,  403, 401),
    },
    # Many cases at once (decision 0048): the cases the caller could assign one by one, all or
    # none; a case out of scope is the 404 of an unknown one.
    "POST /v1/callbacks/assignments": {
        #             admin facil presc recep emplo  key  anon
        "own":        (404, OK,   OK,   403,  403,  403, 401),
        "other":      (404, 404,  404,  403,  403,  403, 401),
        "operator":   (OK,  404,  404,  403,  403,  403, 401),
    },
    # Routing rules (decision 0048): ``own``: landlord A's intakes to agency A; ``other``: the
    # same in territory B. The admin and the facilitator of the territory; managers of the
    # organisation (none among these callers: tests/api/test_callback_routing.py). Writing for an
    # organisation out of reach: 403 (organisations are public facts); a rule out of scope: 404.
    "GET /v1/callbacks/routing-rules": {
        "own":        (IN,  IN,   403,  403,  403,  403, 401),
        "other":      (IN,  OUT,  403,  403,  403,  403, 401),
    },
    "POST /v1/callbacks/routing-rules": {
        "own":        (OK,  OK,   403,  403,  403,  403, 401),
        "other":      (OK,  403,  403,  403,  403,  403, 401),
    },
    "DELETE /v1/callbacks/routing-rules/{rule_id}": {
        "own":        (OK,  OK,   404,  404,  404,  403, 401),
        "other":      (OK,  404,  404,  404,  404,  403, 401),
    },
    # An organisation's alert schedule: the admin, the facilitator of its territory, its
    # managers (tests/api/test_callback_settings.py); ``own``: the caller's organisation.
    "GET /v1/organisations/{organisation_id}/callback-settings": {
        "own":        (OK,  OK,   403,  403,  403,  403, 401),
        "other":      (OK,  403,  403,  403,  403,  403, 401),
    },
    "PUT /v1/organisations/{organisation_id}/callback-settings": {
        "own":        (OK,  OK,   403,  403,  403,  403, 401),
        "other":      (OK,  403,  403,  403,  403,  403, 401),
    },
    # The quarterly report: aggregates of the intakes the caller's organisation (territory, for a
    # facilitator; every one, for the admin) received; counsellors only.
    "GET /v1/reports/callbacks": {
        #             admin facil presc recep emplo  key  anon
        "-":          (OK,  OK,   OK,   403,  403,  403, 401),
    },
    # -- notifications: the caller's own preferences and messages (a key has no account) ------
    "GET /v1/me/notification-preferences": {
        #            admin facil presc recep emplo  key  anon
        "-":         (OK,  OK,   OK,   OK,   OK,   404, 401),
    },
    "PUT /v1/me/notification-preferences": {
        "-":         (OK,  OK,   OK,   OK,   OK,   404, 401),
    },
    "GET /v1/me/notifications": {
        "-":         (OK,  OK,   OK,   OK,   OK,   404, 401),
    },
    # -- webhooks (decisions 0023, 0041): an organisation's own subscriptions; the administrator,
    # facilitators, prescribers and employers — the role decides, for users and keys alike (see
    # test_webhooks_a_key_gets_what_a_user_of_its_role_gets); front desks never; a key needs
    # "webhooks:*" (the matrix's key has only "offers:read") -----------------------------------
    "GET /v1/webhooks": {
        #            admin facil presc recep emplo  key  anon
        "own":       (IN,  IN,   IN,   403,  IN,   403, 401),
        "other":     (IN,  OUT,  OUT,  403,  OUT,  403, 401),
    },
    "POST /v1/webhooks": {
        "-":         (OK,  OK,   OK,   403,  OK,   403, 401),
    },
    "GET /v1/webhooks/{webhook_id}": {
        "own":       (OK,  OK,   OK,   403,  OK,   403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    "DELETE /v1/webhooks/{webhook_id}": {
        "own":       (OK,  OK,   OK,   403,  OK,   403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    "POST /v1/webhooks/{webhook_id}/enable": {
        "own":       (OK,  OK,   OK,   403,  OK,   403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
    "GET /v1/webhooks/{webhook_id}/deliveries": {
        "own":       (OK,  OK,   OK,   403,  OK,   403, 401),
        "other":     (OK,  404,  404,  404,  404,  403, 401),
    },
}  # fmt: skip

# Operations anyone may call (their rows say what each caller gets).
OPEN_TO_ANONYMOUS: Final = frozenset(
    {
        "GET /v1/public/offers",
        "GET /v1/public/offers/json-ld",
        "GET /v1/public/offers/france-travail",
    }
)

# Reads of personal data: each 2xx writes one audit entry.
USER_READS: Final = frozenset({"GET /v1/users", "GET /v1/users/{user_id}"})

# -- the world -----------------------------------------------------------------------------------

TERRITORIES: Final = ("A", "B")

# name → (kind, parent's name)
ORGANISATIONS: Final[dict[str, tuple[OrganisationKind, str | None]]] = {
    "operator": (OrganisationKind.OTHER, None),
    **{
        name: spec
        for t in TERRITORIES
        for name, spec in {
            f"facilitation {t}": (OrganisationKind.FACILITATION, None),
            f"employer {t}": (OrganisationKind.EMPLOYER, f"facilitation {t}"),
            f"landlord {t}": (OrganisationKind.SOCIAL_LANDLORD, f"facilitation {t}"),
            f"agency {t}": (OrganisationKind.FRANCE_TRAVAIL, f"facilitation {t}"),
            f"buyer {t}": (OrganisationKind.BUYER, f"facilitation {t}"),
        }.items()
    },
}

# The organisation of each role in a territory (the key and anonymous stand in for the employer).
_HOME: Final = {
    "facilitator": "facilitation",
    "prescriber": "agency",
    "reception": "landlord",
    "employer": "employer",
    "key": "employer",
    "anonymous": "employer",
}
_ROLE: Final = {
    "facilitator": Role.FACILITATOR,
    "prescriber": Role.PRESCRIBER,
    "reception": Role.RECEPTION,
    "employer": Role.EMPLOYER,
}

# account name → (organisation's name, role); created when a case needs them.
ACCOUNTS: Final[dict[str, tuple[str, Role]]] = {
    "admin": ("operator", Role.ADMIN),
    "admin colleague": ("operator", Role.ADMIN),
    **{
        f"{role_name} {t}{suffix}": (f"{_HOME[role_name]} {t}", role)
        for t in TERRITORIES
        for role_name, role in _ROLE.items()
        for suffix in ("", " colleague")
    },
    **{f"buyer staff {t}": (f"buyer {t}", Role.EMPLOYER) for t in TERRITORIES},
}

_unique = itertools.count(1)


def home(caller: str, territory: str = "A") -> str:
    """The caller's organisation, or its counterpart in another territory."""
    if caller == "admin":
        return "operator" if territory == "A" else f"facilitation {territory}"
    return f"{_HOME[caller]} {territory}"


def organisation_target(caller: str, target: str) -> str:
    return {"own": home(caller), "other": home(caller, "B"), "network": "buyer A"}[target]


def account_target(caller: str, target: str) -> str:
    if caller == "admin":
        own, other, me = "admin colleague", "facilitator B", "admin"
    else:
        role = caller if caller in _ROLE else "employer"  # the key and anonymous: the employer's
        own, other, me = f"{role} A colleague", f"{role} B", f"{role} A"
    return {"own": own, "other": other, "network": "buyer staff A", "self": me}[target]


def territory_of_target(target: str) -> str:
    return "A" if target.startswith("own") else "B"


@dataclass
class World:
    """Built as a case asks for its parts: an organisation (with its parents), an account, a key,
    a contract or an offer costs a row or two, so each case pays only for what it uses.

    Ids and credentials are kept as strings: rows expire when a request rolls back.
    """

    session: AsyncSession
    settings: Settings
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    organisations: dict[str, Organisation] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # organisation → its id
    names: dict[str, str] = field(default_factory=dict)  # organisation → its name, unique
    accounts: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    key: tuple[str, dict[str, str]] | None = None

    async def organisation(self, name: str) -> Organisation:
        if name not in self.organisations:
            kind, parent = ORGANISATIONS[name]
            organisation = await make_organisation(
                self.session,
                kind=kind,
                name=f"Matrice {name} {self.run}",
                parent=await self.organisation(parent) if parent else None,
            )
            self.organisations[name] = organisation
            self.ids[name] = str(organisation.id)
            self.names[name] = organisation.name
        return self.organisations[name]

    async def organisation_id(self, name: str) -> str:
        await self.organisation(name)
        return self.ids[name]

    async def account(self, name: str) -> str:
        """The id of the account ``name``, created on first use."""
        if name not in self.accounts:
            organisation, role = ACCOUNTS[name]
            user = await make_user(self.session, await self.organisation(organisation), role)
            self.accounts[name] = (str(user.id), bearer(user, self.settings))
        return self.accounts[name][0]

    async def caller(self, caller: str) -> tuple[str | None, dict[str, str]]:
        """The caller's id (user or key) and credentials."""
        if caller == "anonymous":
            return None, {}
        if caller == "key":
            if self.key is None:
                key_id, secret = await self.api_key("employer A", scopes=["offers:read"])
                self.key = (key_id, {"X-API-Key": secret})
            return self.key
        name = "admin" if caller == "admin" else f"{caller} A"
        await self.account(name)
        return self.accounts[name]

    async def api_key(
        self, organisation: str, *, scopes: list[str] | None = None, role: Role = Role.EMPLOYER
    ) -> tuple[str, str]:
        secret = new_api_key()
        key = ApiKey(
            organisation_id=(await self.organisation(organisation)).id,
            name="SIRH",
            role=role,
            prefix=secret.prefix,
            key_hash=secret.key_hash,
            scopes=scopes or ["offers:read"],
        )
        self.session.add(key)
        await self.session.flush()
        return str(key.id), secret.key

    async def contract(self, territory: str, status: ContractStatus) -> str:
        contract = await make_contract(
            self.session,
            await self.organisation(f"buyer {territory}"),
            holders=[await self.organisation(f"employer {territory}")],
            lots=[(1, "Gros œuvre")],
            status=status,
        )
        return str(contract.id)

    async def offer(self, territory: str, status: OfferStatus) -> str:
        offer = await make_offer(
            self.session, await self.organisation(f"employer {territory}"), status=status
        )
        return str(offer.id)

    async def audit_entry(self, territory: str) -> tuple[str, str]:
        """An entry written by territory's employer: its id and the resource id it names."""
        actor = Principal(
            kind="user",
            id=uuid.uuid4(),
            organisation_id=(await self.organisation(f"employer {territory}")).id,
            role=Role.EMPLOYER,
        )
        resource_id = uuid.uuid4()
        entry = audit.record(self.session, actor, "read", "offer", resource_id)
        await self.session.flush()
        return str(entry.id), str(resource_id)

    async def etag(self, api: httpx.AsyncClient, path: str) -> str:
        """The current ETag, read as the admin (before the case's audit count is taken)."""
        _, headers = await self.caller("admin")
        response = await api.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return response.headers["etag"]


# -- the calls -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    object_id: str | None = None  # the target's id in the path (swapped for an unknown one)
    listed: str | None = None  # list endpoints: the target's id, to look for among the items
    target_id: str | None = None  # audited reads: the user read


@dataclass(frozen=True)
class Case:
    world: World
    api: httpx.AsyncClient
    caller: str
    target: str


Driver = Callable[[Case], Awaitable[Call]]
DRIVERS: dict[str, Driver] = {}


def drives(operation: str) -> Callable[[Driver], Driver]:
    def register(driver: Driver) -> Driver:
        DRIVERS[operation] = driver
        return driver

    return register


def _static(operation: str, path: str) -> None:
    async def driver(case: Case) -> Call:
        return Call("GET", path)

    DRIVERS[operation] = driver


_static("GET /v1/me", "/v1/me")
_static("GET /v1/referentials/rome", "/v1/referentials/rome?q=macon")
_static("GET /v1/referentials/rome/{code}", "/v1/referentials/rome/F1703")
_static("GET /v1/referentials/sectors", "/v1/referentials/sectors")
_static("GET /v1/referentials/sectors/{code}", "/v1/referentials/sectors/construction")
_static("GET /v1/referentials/communes", "/v1/referentials/communes?q=93200")
_static("GET /v1/referentials/communes/{insee}", "/v1/referentials/communes/93066")
_static("GET /v1/referentials/qpv", "/v1/referentials/qpv?lon=2.3535&lat=48.8865")


# organisations


async def _target_organisation(case: Case) -> str:
    return await case.world.organisation_id(organisation_target(case.caller, case.target))


@drives("GET /v1/organisations")
async def _list_organisations(case: Case) -> Call:
    name = organisation_target(case.caller, case.target)
    organisation_id = await case.world.organisation_id(name)
    query = httpx.QueryParams(q=case.world.names[name], limit=200)
    return Call("GET", f"/v1/organisations?{query}", listed=organisation_id)


@drives("GET /v1/organisations/{organisation_id}")
async def _read_organisation(case: Case) -> Call:
    organisation_id = await _target_organisation(case)
    return Call("GET", f"/v1/organisations/{organisation_id}", object_id=organisation_id)


@drives("POST /v1/organisations")
async def _create_organisation(case: Case) -> Call:
    parent_id = await _target_organisation(case)
    body = {
        "name": "Entreprise Bâtir Ensemble",
        "kind": "employer",
        "commune_insee": "93066",
        "parent_id": parent_id,
    }
    return Call("POST", "/v1/organisations", body=body)


@drives("PATCH /v1/organisations/{organisation_id}")
async def _update_organisation(case: Case) -> Call:
    organisation_id = await _target_organisation(case)
    path = f"/v1/organisations/{organisation_id}"
    etag = await case.world.etag(case.api, path)
    return Call(
        "PATCH",
        path,
        body={"address": "12 rue de la République"},
        headers={"If-Match": etag},
        object_id=organisation_id,
    )


# users


async def _user(case: Case) -> tuple[str, str]:
    name = account_target(case.caller, case.target)
    return await case.world.account(name), ACCOUNTS[name][0]


@drives("GET /v1/users")
async def _list_users(case: Case) -> Call:
    user_id, organisation = await _user(case)
    organisation_id = await case.world.organisation_id(organisation)
    query = httpx.QueryParams(organisation_id=organisation_id, limit=200)
    return Call("GET", f"/v1/users?{query}", listed=user_id)


@drives("GET /v1/users/{user_id}")
async def _read_user(case: Case) -> Call:
    user_id, _ = await _user(case)
    return Call("GET", f"/v1/users/{user_id}", object_id=user_id, target_id=user_id)


@drives("POST /v1/users")
async def _create_user(case: Case) -> Call:
    organisation_id = await _target_organisation(case)
    body = {
        "email": f"nouvelle.personne{next(_unique)}@exemple.fr",
        "full_name": "Nouvelle Personne",
        "password": "un mot de passe tout neuf",
        "organisation_id": organisation_id,
        "role": "employer",
    }
    return Call("POST", "/v1/users", body=body)


@drives("PATCH /v1/users/{user_id}")
async def _update_user(case: Case) -> Call:
    user_id, _ = await _user(case)
    path = f"/v1/users/{user_id}"
    etag = await case.world.etag(case.api, path)
    return Call(
        "PATCH",
        path,
        body={"full_name": "Nom d'usage changé"},
        headers={"If-Match": etag},
        object_id=user_id,
    )


@drives("POST /v1/users/{user_id}/password")
async def _change_password(case: Case) -> Call:
    user_id, _ = await _user(case)
    body = {"current_password": PASSWORD, "new_password": "un tout nouveau mot de passe"}
    return Call("POST", f"/v1/users/{user_id}/password", body=body, object_id=user_id)


# API keys


async def _key(case: Case) -> str:
    key_id, _ = await case.world.api_key(organisation_target(case.caller, case.target))
    return key_id


@drives("GET /v1/api-keys")
async def _list_api_keys(case: Case) -> Call:
    return Call("GET", "/v1/api-keys?limit=200", listed=await _key(case))


@drives("GET /v1/api-keys/{api_key_id}")
async def _read_api_key(case: Case) -> Call:
    key_id = await _key(case)
    return Call("GET", f"/v1/api-keys/{key_id}", object_id=key_id)


@drives("POST /v1/api-keys")
async def _create_api_key(case: Case) -> Call:
    organisation_id = await _target_organisation(case)
    body = {
        "name": "SIRH du chantier",
        "role": "employer",
        "scopes": ["offers:read"],
        "organisation_id": organisation_id,
    }
    return Call("POST", "/v1/api-keys", body=body)


@drives("DELETE /v1/api-keys/{api_key_id}")
async def _revoke_api_key(case: Case) -> Call:
    key_id = await _key(case)
    return Call("DELETE", f"/v1/api-keys/{key_id}", object_id=key_id)


# audit


@drives("GET /v1/audit")
async def _list_audit(case: Case) -> Call:
    entry_id, resource_id = await case.world.audit_entry(territory_of_target(case.target))
    return Call("GET", f"/v1/audit?resource_id={resource_id}&limit=200", listed=entry_id)


# contracts


async def _contract(case: Case, status: ContractStatus = ContractStatus.DRAFT) -> str:
    return await case.world.contract(territory_of_target(case.target), status)


@drives("GET /v1/contracts")
async def _list_contracts(case: Case) -> Call:
    contract_id = await _contract(case)
    buyer_id = await case.world.organisation_id(f"buyer {territory_of_target(case.target)}")
    return Call("GET", f"/v1/contracts?buyer_id={buyer_id}&limit=200", listed=contract_id)


@drives("GET /v1/contracts/{contract_id}")
async def _read_contract(case: Case) -> Call:
    contract_id = await _contract(case)
    return Call("GET", f"/v1/contracts/{contract_id}", object_id=contract_id)


@drives("POST /v1/contracts")
async def _create_contract(case: Case) -> Call:
    territory = territory_of_target(case.target)
    body = {
        "buyer_id": await case.world.organisation_id(f"buyer {territory}"),
        "reference": f"MATRICE-{next(_unique)}",
        "title": "Construction d'un groupe scolaire",
        "clause_kind": "execution",
        "start_date": "2026-04-01",
        "end_date": "2027-09-30",
        "required_insertion_hours": "2000.00",
        "lots": [{"number": 1, "title": "Gros œuvre"}],
        "holder_ids": [await case.world.organisation_id(f"employer {territory}")],
    }
    return Call("POST", "/v1/contracts", body=body)


@drives("PATCH /v1/contracts/{contract_id}")
async def _update_contract(case: Case) -> Call:
    contract_id = await _contract(case)
    path = f"/v1/contracts/{contract_id}"
    etag = await case.world.etag(case.api, path)
    return Call(
        "PATCH",
        path,
        body={"title": "Réhabilitation de 140 logements"},
        headers={"If-Match": etag},
        object_id=contract_id,
    )


@drives("POST /v1/contracts/{contract_id}/activate")
async def _activate_contract(case: Case) -> Call:
    contract_id = await _contract(case)  # a draft with a holder
    return Call("POST", f"/v1/contracts/{contract_id}/activate", object_id=contract_id)


@drives("POST /v1/contracts/{contract_id}/close")
async def _close_contract(case: Case) -> Call:
    contract_id = await _contract(case, ContractStatus.ACTIVE)  # no open offer
    return Call("POST", f"/v1/contracts/{contract_id}/close", object_id=contract_id)


@drives("POST /v1/contracts/{contract_id}/confirm")
async def _confirm_contract(case: Case) -> Call:
    contract_id = await _contract(case, ContractStatus.DISCOVERED)
    path = f"/v1/contracts/{contract_id}"
    etag = await case.world.etag(case.api, path)
    return Call("POST", f"{path}/confirm", headers={"If-Match": etag}, object_id=contract_id)


# offers


async def _employer(case: Case) -> str:
    return await case.world.organisation_id(f"employer {territory_of_target(case.target)}")


async def _offer(case: Case, status: OfferStatus | None = None) -> str:
    if status is None:
        status = OfferStatus.OPEN if case.target.endswith("open") else OfferStatus.DRAFT
    return await case.world.offer(territory_of_target(case.target), status)


@drives("GET /v1/offers")
async def _list_offers(case: Case) -> Call:
    offer_id = await _offer(case)
    employer_id = await _employer(case)
    return Call("GET", f"/v1/offers?employer_id={employer_id}&limit=200", listed=offer_id)


@drives("GET /v1/offers/{offer_id}")
async def _read_offer(case: Case) -> Call:
    offer_id = await _offer(case)
    return Call("GET", f"/v1/offers/{offer_id}", object_id=offer_id)


@drives("POST /v1/offers")
async def _create_offer(case: Case) -> Call:
    body = {
        "employer_id": await _employer(case),
        "title": "Coffreur ou coffreuse",
        "rome_code": "F1703",
        "commune_insee": "93066",
    }
    return Call("POST", "/v1/offers", body=body)


@drives("PATCH /v1/offers/{offer_id}")
async def _update_offer(case: Case) -> Call:
    offer_id = await _offer(case)
    path = f"/v1/offers/{offer_id}"
    etag = await case.world.etag(case.api, path)
    return Call(
        "PATCH",
        path,
        body={"title": "Maçon ou maçonne VRD"},
        headers={"If-Match": etag},
        object_id=offer_id,
    )


@drives("DELETE /v1/offers/{offer_id}")
async def _delete_offer(case: Case) -> Call:
    offer_id = await _offer(case, OfferStatus.DRAFT)
    path = f"/v1/offers/{offer_id}"
    return Call("DELETE", path, headers={"If-Match": "*"}, object_id=offer_id)


@drives("POST /v1/offers/{offer_id}/publish")
async def _publish_offer(case: Case) -> Call:
    offer_id = await _offer(case, OfferStatus.DRAFT)
    return Call("POST", f"/v1/offers/{offer_id}/publish", object_id=offer_id)


@drives("POST /v1/offers/{offer_id}/close")
async def _close_offer(case: Case) -> Call:
    offer_id = await _offer(case, OfferStatus.OPEN)
    body = {"reason": "filled"}
    return Call("POST", f"/v1/offers/{offer_id}/close", body=body, object_id=offer_id)


async def _public_offer(case: Case) -> str:
    world = case.world
    territory = territory_of_target(case.target)
    draft = case.target.endswith("draft")
    offer = await make_offer(
        world.session,
        await world.organisation(f"employer {territory}"),
        status=OfferStatus.DRAFT if draft else OfferStatus.OPEN,
    )
    offer.is_public = not case.target.endswith("private")
    await world.session.flush()
    return str(offer.id)


@drives("GET /v1/public/offers")
async def _list_public_offers(case: Case) -> Call:
    return Call("GET", "/v1/public/offers?limit=200", listed=await _public_offer(case))


@drives("GET /v1/public/offers/json-ld")
async def _list_public_job_postings(case: Case) -> Call:
    return Call("GET", "/v1/public/offers/json-ld?limit=200", listed=await _public_offer(case))


@drives("GET /v1/public/offers/france-travail")
async def _export_public_offers(case: Case) -> Call:
    return Call(
        "GET", "/v1/public/offers/france-travail?limit=200", listed=await _public_offer(case)
    )


# candidates


async def _candidate(case: Case, *, intake: bool = True) -> str:
    """A candidate of the case's target (see the rows); for territory targets, with an intake
    keyed in by the front desk of that territory."""
    world = case.world
    if case.target == "operator":
        candidate = await make_candidate(
            world.session, await world.organisation("operator"), last_name=f"Matrice{world.run}"
        )
        return str(candidate.id)
    territory = territory_of_target(case.target)
    candidate = await make_candidate(
        world.session,
        await world.organisation(f"agency {territory}"),
        last_name=f"Matrice{world.run}",
    )
    if intake:
        world.session.add(
            Intake(
                candidate_id=candidate.id,
                organisation_id=(await world.organisation(f"landlord {territory}")).id,
                source=IntakeSource.KIOSK,
                deposit_date=date(2026, 11, 16),
                entered_by_user_id=uuid.UUID(await world.account(f"reception {territory}")),
            )
        )
        await world.session.flush()
    return str(candidate.id)


@drives("GET /v1/candidates")
async def _list_candidates(case: Case) -> Call:
    candidate_id = await _candidate(case)
    return Call("GET", "/v1/candidates?limit=200", listed=candidate_id)


@drives("POST /v1/candidates/search")
async def _search_candidates(case: Case) -> Call:
    candidate_id = await _candidate(case)
    body = {"q": f"matrice{case.world.run}"}
    return Call("POST", "/v1/candidates/search?limit=200", body=body, listed=candidate_id)


@drives("GET /v1/candidates/duplicates")
async def _list_duplicates(case: Case) -> Call:
    return Call("GET", "/v1/candidates/duplicates")


@drives("POST /v1/candidates")
async def _create_candidate(case: Case) -> Call:
    body = {
        "first_name": "Aïcha",
        "last_name": "Matrice",
        "phone": f"06 12 {next(_unique) % 100:02d} 56 78",
        "commune_insee": "93066",
    }
    return Call("POST", "/v1/candidates", body=body)


@drives("GET /v1/candidates/{candidate_id}")
async def _read_candidate(case: Case) -> Call:
    candidate_id = await _candidate(case)
    return Call("GET", f"/v1/candidates/{candidate_id}", object_id=candidate_id)


@drives("PATCH /v1/candidates/{candidate_id}")
async def _update_candidate(case: Case) -> Call:
    candidate_id = await _candidate(case)
    return Call(
        "PATCH",
        f"/v1/candidates/{candidate_id}",
        body={"hours_per_week": 35},
        headers={"If-Match": "*"},
        object_id=candidate_id,
    )


@drives("DELETE /v1/candidates/{candidate_id}")
async def _erase_candidate(case: Case) -> Call:
    candidate_id = await _candidate(case)
    return Call(
        "DELETE",
        f"/v1/candidates/{candidate_id}",
        headers={"If-Match": "*"},
        object_id=candidate_id,
    )


@drives("GET /v1/candidates/{candidate_id}/export")
async def _export_candidate(case: Case) -> Call:
    candidate_id = await _candidate(case)
    return Call("GET", f"/v1/candidates/{candidate_id}/export", object_id=candidate_id)


@drives("POST /v1/candidates/{candidate_id}/merge")
async def _merge_candidates(case: Case) -> Call:
    candidate_id = await _candidate(case)
    duplicate_id = await _candidate(case, intake=False)
    return Call(
        "POST",
        f"/v1/candidates/{candidate_id}/merge",
        body={"duplicate_id": duplicate_id},
        object_id=candidate_id,
    )


@drives("GET /v1/candidates/{candidate_id}/eligibility")
async def _list_criteria(case: Case) -> Call:
    candidate_id = await _candidate(case)
    return Call("GET", f"/v1/candidates/{candidate_id}/eligibility", object_id=candidate_id)


@drives("POST /v1/candidates/{candidate_id}/eligibility")
async def _add_criterion(case: Case) -> Call:
    candidate_id = await _candidate(case)
    return Call(
        "POST",
        f"/v1/candidates/{candidate_id}/eligibility",
        body={"kind": "RSA"},
        object_id=candidate_id,
    )


@drives("DELETE /v1/candidates/{candidate_id}/eligibility/{criterion_id}")
async def _remove_criterion(case: Case) -> Call:
    candidate_id = await _candidate(case)
    criterion = EligibilityCriterion(candidate_id=uuid.UUID(candidate_id), kind=EligibilityKind.RSA)
    case.world.session.add(criterion)
    await case.world.session.flush()
    return Call(
        "DELETE",
        f"/v1/candidates/{candidate_id}/eligibility/{criterion.id}",
        object_id=candidate_id,
    )


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def cheap_new_password_hashes() -> Iterator[None]:
    """argon2 at its production cost takes 0.2 s a hash, and some twenty cells set a password:
    this module checks who may, not how it is hashed, so new hashes take the lowest cost here."""
    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._hasher = production


@pytest.fixture(scope="module")
def openapi_operations(settings: Settings) -> set[str]:
    paths: dict[str, dict[str, Any]] = create_app(settings).openapi()["paths"]
    return {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods}


@pytest.fixture(scope="module")
async def rome_index(engine: AsyncEngine, reference_data: list[ImportSummary]) -> RomeIndex:
    async with create_sessionmaker(engine)() as session:
        dataset = await current_dataset(session, DatasetKind.ROME)
        assert dataset is not None
        return await load_rome_index(session, dataset)


@pytest.fixture(scope="module")
async def shared_client(
    settings: Settings, rome_index: RomeIndex, qpv_index: QpvIndex
) -> AsyncIterator[tuple[httpx.AsyncClient, TestTransaction]]:
    async with shared_app(settings, rome_index, qpv_index) as shared:
        yield shared


@pytest.fixture
def api(
    shared_client: tuple[httpx.AsyncClient, TestTransaction], db_session: AsyncSession
) -> Iterator[httpx.AsyncClient]:
    client, current = shared_client
    current.session = db_session
    yield client
    current.session = None


@pytest.fixture
def world(db_session: AsyncSession, settings: Settings, clock: FrozenClock) -> World:
    return World(db_session, settings)


# -- the matrix ----------------------------------------------------------------------------------


def _cells() -> list[Any]:
    cells = []
    for operation, row in MATRIX.items():
        for target, outcomes in row.items():
            for caller, expected in zip(CALLERS, outcomes, strict=True):
                if expected is NA:
                    continue
                name = f"{operation} | {caller}" + ("" if target == "-" else f" | {target}")
                cells.append(pytest.param(operation, caller, target, id=name))
    return cells


CELLS: Final = _cells()


async def audit_count(session: AsyncSession) -> int:
    total: int = (await session.execute(select(func.count()).select_from(AuditEntry))).scalar_one()
    return total


def _outcome(response: httpx.Response, call: Call) -> Outcome:
    if not response.is_success:
        return response.status_code
    if call.listed is None:
        return OK
    body = response.json()
    if "itemListElement" in body:  # JSON-LD: an ItemList of JobPostings
        listed = {e["item"]["identifier"]["value"] for e in body["itemListElement"]}
    else:
        listed = {item["id"] for item in body["items"]}
    return IN if call.listed in listed else OUT


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    return body


@pytest.mark.parametrize(("operation", "caller", "target"), CELLS)
async def test_access(
    operation: str,
    caller: str,
    target: str,
    world: World,
    api: httpx.AsyncClient,
    db_session: AsyncSession,
) -> None:
    expected = MATRIX[operation][target][CALLERS.index(caller)]
    caller_id, headers = await world.caller(caller)
    call = await DRIVERS[operation](Case(world, api, caller, target))
    before = await audit_count(db_session)

    response = await api.request(
        call.method, call.path, json=call.body, headers={**headers, **call.headers}
    )

    got = _outcome(response, call)
    assert got == expected, (
        f"{operation} as {caller} on {target}: 0008 says {expected}, the API answered {got} "
        f"({response.status_code}: {response.text[:300]})"
    )
    request_id = response.headers["x-request-id"]
    entries = list(
        await db_session.scalars(select(AuditEntry).where(col(AuditEntry.request_id) == request_id))
    )
    if not response.is_success:
        problem = _problem(response)
        # A refused request wrote nothing, and in particular no audit entry.
        assert await audit_count(db_session) == before
        assert entries == []
        if response.status_code == 401:
            assert problem["type"] == "/problems/unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")
        if response.status_code == 404 and call.object_id is not None:
            # No existence leak: the same answer as for an id that does not exist at all.
            unknown = await api.request(
                call.method,
                call.path.replace(call.object_id, str(uuid.uuid4())),
                json=call.body,
                headers={**headers, **call.headers},
            )
            assert unknown.status_code == 404, unknown.text
            twin = _problem(unknown)
            assert {k: twin[k] for k in ("type", "title", "detail")} == {
                k: problem[k] for k in ("type", "title", "detail")
            }
            assert await audit_count(db_session) == before
        return

    if operation in USER_READS:
        assert caller_id is not None
        if call.target_id is not None:
            read = [
                (e.action, e.resource_type, str(e.resource_id), str(e.actor_id)) for e in entries
            ]
            assert read == [("read", "user", call.target_id, caller_id)]
        else:
            items = [item["id"] for item in response.json()["items"]]
            listed = [(e.action, e.resource_type, e.resource_id, str(e.actor_id)) for e in entries]
            if items:
                assert listed == [("list", "user", None, caller_id)]
                assert sorted(entries[0].details["ids"]) == sorted(items)
            else:
                assert listed == []


# -- the matrix itself ---------------------------------------------------------------------------


def test_every_operation_of_the_api_has_a_row(openapi_operations: set[str]) -> None:
    """A new endpoint without a row in MATRIX (or in PUBLIC, by design) fails here."""
    missing = openapi_operations - set(MATRIX) - PUBLIC
    assert not missing, f"no row in the access matrix for: {sorted(missing)}"
    stale = (set(MATRIX) | PUBLIC) - openapi_operations
    assert not stale, f"rows for operations the API no longer has: {sorted(stale)}"
    assert set(DRIVERS) == set(MATRIX)


def test_every_row_names_each_caller() -> None:
    for operation, row in MATRIX.items():
        for target, outcomes in row.items():
            assert len(outcomes) == len(CALLERS), (operation, target)
            assert all(o in (OK, IN, OUT, NA, 401, 403, 404) for o in outcomes), (operation, target)
            # Anonymous callers are always turned away, before anything else, but where
            # the operation is open to them by design.
            if operation not in OPEN_TO_ANONYMOUS:
                assert outcomes[-1] in (401, NA), (operation, target)


# -- public endpoints, by design -----------------------------------------------------------------


async def test_the_index_is_public(api: httpx.AsyncClient, db_session: AsyncSession) -> None:
    before = await audit_count(db_session)
    response = await api.get("/v1")
    assert response.status_code == 200, response.text
    assert response.json()["links"]["self"] == "/v1"
    assert await audit_count(db_session) == before


async def test_signing_in_is_public_and_a_failed_one_is_not_audited(
    api: httpx.AsyncClient,
    db_session: AsyncSession,
    world: World,
    redis_client: aioredis.Redis,
) -> None:
    user = await make_user(db_session, await world.organisation("agency A"), Role.PRESCRIBER)
    email, user_id = user.email, str(user.id)
    before = await audit_count(db_session)

    refused = await api.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": "pas le bon mot de passe"},
    )
    assert refused.status_code == 401, refused.text
    assert await audit_count(db_session) == before

    signed_in = await api.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    tokens = signed_in.json()
    me = await api.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_id

    logout = await api.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert logout.status_code == 204, logout.text


async def test_signing_out_is_public_and_learns_nothing(
    api: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    before = await audit_count(db_session)
    response = await api.post("/v1/auth/logout", json={"refresh_token": "inconnu"})
    assert response.status_code == 204, response.text
    assert await audit_count(db_session) == before


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer pas-un-jeton"}, id="bad bearer token"),
        pytest.param({"X-API-Key": "mk_00000000_inconnue"}, id="unknown API key"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, id="another scheme"),
    ],
)
async def test_bad_credentials_are_401_and_not_audited(
    api: httpx.AsyncClient, db_session: AsyncSession, headers: dict[str, str]
) -> None:
    before = await audit_count(db_session)
    for path in ("/v1/me", "/v1/users", "/v1/offers"):
        response = await api.get(path, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert _problem(response)["type"] == "/problems/unauthorized"
    assert await audit_count(db_session) == before


# intakes


async def _intake(case: Case) -> str:
    """An intake keyed in by the front desk of the target's territory, for a candidate shared
    with that territory's agency."""
    world = case.world
    territory = territory_of_target(case.target)
    candidate = await make_candidate(
        world.session,
        await world.organisation(f"agency {territory}"),
        last_name=f"Dépôt{world.run}",
    )
    intake = Intake(
        candidate_id=candidate.id,
        organisation_id=(await world.organisation(f"landlord {territory}")).id,
        source=IntakeSource.KIOSK,
        deposit_date=date(2026, 11, 16),
        entered_by_user_id=uuid.UUID(await world.account(f"reception {territory}")),
    )
    world.session.add(intake)
    await world.session.flush()
    return str(intake.id)


def _borne_form() -> dict[str, Any]:
    return {
        "last_name": "Matrice",
        "first_name": "Inès",
        "mobile_phone": f"06 45 {next(_unique) % 100:02d} 33 44",
        "commune_insee": "93066",
        "sectors_wanted": ["cleaning"],
        "needs": ["job"],
        "consent": True,
        "consent_text_version": "borne-2024-01",
    }


async def _place(case: Case) -> str:
    """A place of territory A the caller may record intakes for: the borne's landlord, or the
    prescriber's own agency (a counsellor's walk-in session)."""
    return await case.world.organisation_id(
        "agency A" if case.caller == "prescriber" else "landlord A"
    )


@drives("POST /v1/intakes")
async def _create_intake(case: Case) -> Call:
    body = {**_borne_form(), "place_organisation_id": await _place(case)}
    return Call("POST", "/v1/intakes", body=body)


@drives("POST /v1/intakes/batch")
async def _create_batch(case: Case) -> Call:
    # The clock of the matrix stands in early March 2026: the box was opened the Friday before.
    body = {
        "place_organisation_id": await _place(case),
        "collected_on": "2026-02-27",
        "forms": [_borne_form()],
    }
    return Call("POST", "/v1/intakes/batch", body=body)


@drives("GET /v1/intakes")
async def _list_intakes(case: Case) -> Call:
    return Call("GET", "/v1/intakes?limit=200", listed=await _intake(case))


@drives("GET /v1/intakes/{intake_id}")
async def _read_intake(case: Case) -> Call:
    intake_id = await _intake(case)
    return Call("GET", f"/v1/intakes/{intake_id}", object_id=intake_id)


@drives("GET /v1/intakes/{intake_id}/files/{file_id}")
async def _download_intake_file(case: Case) -> Call:
    intake_id = await _intake(case)
    stored = await create_storage(case.world.settings).put(new_key(), b"%PDF-1.4\n%%EOF\n")
    row = IntakeFile(
        intake_id=uuid.UUID(intake_id),
        kind=IntakeFileKind.CV,
        storage_key=stored.key,
        original_name="cv.pdf",
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
    )
    case.world.session.add(row)
    await case.world.session.flush()
    return Call("GET", f"/v1/intakes/{intake_id}/files/{row.id}", object_id=intake_id)


# matches


async def _match(case: Case) -> tuple[str, str, str]:
    """A match of the case's target (see the rows): its id, its offer's and its candidate's."""
    world = case.world
    territory = "B" if case.target == "operator" else territory_of_target(case.target)
    offer = await make_offer(
        world.session,
        await world.organisation(f"employer {territory}"),
        status=OfferStatus.CLOSED if case.target.endswith("closed") else OfferStatus.OPEN,
    )
    candidate = await world.session.get(Candidate, uuid.UUID(await _candidate(case)))
    assert candidate is not None
    status = (
        MatchStatus.SUGGESTED
        if case.target.endswith("suggested")
        else MatchStatus.PROPOSED_TO_EMPLOYER
    )
    match = await make_match(world.session, offer, candidate, status=status)
    return str(match.id), str(offer.id), str(candidate.id)


@drives("GET /v1/offers/{offer_id}/matches")
async def _list_offer_matches(case: Case) -> Call:
    match_id, offer_id, _ = await _match(case)
    return Call(
        "GET", f"/v1/offers/{offer_id}/matches?limit=200", object_id=offer_id, listed=match_id
    )


@drives("GET /v1/candidates/{candidate_id}/matches")
async def _list_candidate_matches(case: Case) -> Call:
    match_id, _, candidate_id = await _match(case)
    return Call(
        "GET",
        f"/v1/candidates/{candidate_id}/matches?limit=200",
        object_id=candidate_id,
        listed=match_id,
    )


@drives("GET /v1/offers/{offer_id}/candidates/{candidate_id}/ranking")
async def _candidate_ranking(case: Case) -> Call:
    _, offer_id, candidate_id = await _match(case)
    return Call(
        "GET", f"/v1/offers/{offer_id}/candidates/{candidate_id}/ranking", object_id=candidate_id
    )


@drives("POST /v1/matches/{match_id}/transitions")
async def _move_match(case: Case) -> Call:
    match_id, _, _ = await _match(case)
    to = {"own suggested": "contacted", "own withdraw": "withdrawn"}.get(case.target, "hired")
    return Call("POST", f"/v1/matches/{match_id}/transitions", body={"to": to}, object_id=match_id)


@drives("GET /v1/matches/{match_id}/contact")
async def _read_match_contact(case: Case) -> Call:
    match_id, _, _ = await _match(case)
    return Call("GET", f"/v1/matches/{match_id}/contact", object_id=match_id)


@drives("GET /v1/matches/{match_id}/cv/{file_id}")
async def _download_match_cv(case: Case) -> Call:
    match_id, _, candidate_id = await _match(case)
    world = case.world
    intake = Intake(
        candidate_id=uuid.UUID(candidate_id),
        organisation_id=(
            await world.organisation(
                "operator"
                if case.target == "operator"
                else f"agency {territory_of_target(case.target)}"
            )
        ).id,
        source=IntakeSource.KIOSK,
        deposit_date=date(2026, 2, 23),
    )
    world.session.add(intake)
    await world.session.flush()
    stored = await create_storage(world.settings).put(new_key(), b"%PDF-1.4\n%%EOF\n")
    row = IntakeFile(
        intake_id=intake.id,
        kind=IntakeFileKind.CV,
        storage_key=stored.key,
        original_name="cv.pdf",
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
    )
    world.session.add(row)
    await world.session.flush()
    return Call("GET", f"/v1/matches/{match_id}/cv/{row.id}", object_id=match_id)


# callback cases


async def _callback(case: Case, *, reached: bool = False) -> str:
    """A case assigned to the target's organisation (agency A or B, or the operator), named to a
    colleague there; ``reached``: with a first attempt that reached the person."""
    world = case.world
    if case.target == "operator":
        organisation_name, colleague = "operator", "admin colleague"
    else:
        territory = territory_of_target(case.target)
        organisation_name = f"agency {territory}"
        colleague = f"prescriber {territory} colleague"
    organisation = await world.organisation(organisation_name)
    candidate = await make_candidate(world.session, organisation, last_name=f"Rappel{world.run}")
    deposit = date(2026, 2, 23)
    intake = Intake(
        candidate_id=candidate.id,
        organisation_id=organisation.id,
        source=IntakeSource.KIOSK,
        deposit_date=deposit,
    )
    world.session.add(intake)
    await world.session.flush()
    callback = CallbackCase(
        candidate_id=candidate.id,
        intake_id=intake.id,
        received_by_organisation_id=organisation.id,
        deposit_date=deposit,
        due_at=callback_due_at(deposit, 30),
        organisation_id=organisation.id,
        prescriber_id=uuid.UUID(await world.account(colleague)),
        alerts_raised=["assigned:1"],
    )
    if reached:
        callback.attempt_count = 1
        callback.first_attempt_at = callback.last_attempt_at = callback.reached_at = now()
        callback.last_attempt_result = AttemptResult.REACHED
    world.session.add(callback)
    await world.session.flush()
    return str(callback.id)


@drives("GET /v1/callbacks")
async def _list_callbacks(case: Case) -> Call:
    return Call("GET", "/v1/callbacks?limit=200", listed=await _callback(case))


@drives("GET /v1/callbacks/{callback_id}")
async def _read_callback(case: Case) -> Call:
    callback_id = await _callback(case)
    return Call("GET", f"/v1/callbacks/{callback_id}", object_id=callback_id)


@drives("POST /v1/callbacks/{callback_id}/attempts")
async def _add_callback_attempt(case: Case) -> Call:
    callback_id = await _callback(case)
    body = {"channel": "phone", "result": "no_answer"}
    return Call("POST", f"/v1/callbacks/{callback_id}/attempts", body=body, object_id=callback_id)


@drives("POST /v1/callbacks/{callback_id}/outcome")
async def _set_callback_outcome(case: Case) -> Call:
    callback_id = await _callback(case, reached=True)
    body = {"outcome": "advice"}
    return Call("POST", f"/v1/callbacks/{callback_id}/outcome", body=body, object_id=callback_id)


@drives("POST /v1/callbacks/{callback_id}/assign")
async def _assign_callback(case: Case) -> Call:
    callback_id = await _callback(case)  # named to a colleague: back to the whole organisation
    return Call("POST", f"/v1/callbacks/{callback_id}/assign", body={}, object_id=callback_id)


@drives("POST /v1/callbacks/assignments")
async def _assign_callbacks(case: Case) -> Call:
    callback_id = await _callback(case)  # named to a colleague: back to the whole organisation
    return Call("POST", "/v1/callbacks/assignments", body={"callback_ids": [callback_id]})


async def _routing_body(case: Case) -> dict[str, Any]:
    territory = territory_of_target(case.target)
    return {
        "organisation_id": await case.world.organisation_id(f"landlord {territory}"),
        "target_organisation_id": await case.world.organisation_id(f"agency {territory}"),
        "round_robin": True,
    }


async def _routing_rule(case: Case) -> str:
    body = await _routing_body(case)
    rule = CallbackRoutingRule(
        organisation_id=uuid.UUID(body["organisation_id"]),
        target_organisation_id=uuid.UUID(body["target_organisation_id"]),
        round_robin=True,
    )
    case.world.session.add(rule)
    await case.world.session.flush()
    return str(rule.id)


@drives("GET /v1/callbacks/routing-rules")
async def _list_routing_rules(case: Case) -> Call:
    return Call("GET", "/v1/callbacks/routing-rules?limit=200", listed=await _routing_rule(case))


@drives("POST /v1/callbacks/routing-rules")
async def _create_routing_rule(case: Case) -> Call:
    return Call("POST", "/v1/callbacks/routing-rules", body=await _routing_body(case))


@drives("DELETE /v1/callbacks/routing-rules/{rule_id}")
async def _delete_routing_rule(case: Case) -> Call:
    rule_id = await _routing_rule(case)
    return Call("DELETE", f"/v1/callbacks/routing-rules/{rule_id}", object_id=rule_id)


@drives("GET /v1/organisations/{organisation_id}/callback-settings")
async def _read_callback_settings(case: Case) -> Call:
    organisation_id = await _target_organisation(case)
    return Call("GET", f"/v1/organisations/{organisation_id}/callback-settings")


@drives("PUT /v1/organisations/{organisation_id}/callback-settings")
async def _replace_callback_settings(case: Case) -> Call:
    organisation_id = await _target_organisation(case)
    return Call(
        "PUT",
        f"/v1/organisations/{organisation_id}/callback-settings",
        body={"reminder_day": 10},
        headers={"If-Match": "*"},
    )


@drives("GET /v1/reports/callbacks")
async def _callback_report(case: Case) -> Call:
    return Call("GET", "/v1/reports/callbacks?quarter=2026-Q1")


# notifications


async def _own_preferences_etag(case: Case) -> str:
    if case.caller in ("key", "anonymous"):
        return '"sans-objet"'
    _, headers = await case.world.caller(case.caller)
    response = await case.api.get("/v1/me/notification-preferences", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.headers["etag"])


_static("GET /v1/me/notification-preferences", "/v1/me/notification-preferences")
_static("GET /v1/me/notifications", "/v1/me/notifications")


@drives("PUT /v1/me/notification-preferences")
async def _replace_preferences(case: Case) -> Call:
    return Call(
        "PUT",
        "/v1/me/notification-preferences",
        body={"preferences": [{"kind": "callback.reminder", "channels": [], "mode": "immediate"}]},
        headers={"If-Match": await _own_preferences_etag(case)},
    )


# webhooks


async def _webhook(case: Case) -> str:
    organisation = await case.world.organisation(organisation_target(case.caller, case.target))
    subscription = WebhookSubscription(
        organisation_id=organisation.id,
        url="https://hooks.exemple.fr/maillon",
        event_types=["offer.published"],
        secret=new_secret(),
        role=Role.FACILITATOR,
    )
    case.world.session.add(subscription)
    await case.world.session.flush()
    return str(subscription.id)


@drives("GET /v1/webhooks")
async def _list_webhooks(case: Case) -> Call:
    return Call("GET", "/v1/webhooks?limit=200", listed=await _webhook(case))


@drives("POST /v1/webhooks")
async def _create_webhook(case: Case) -> Call:
    body = {"url": "https://hooks.exemple.fr/maillon", "event_types": ["match.suggested"]}
    return Call("POST", "/v1/webhooks", body=body)


@drives("GET /v1/webhooks/{webhook_id}")
async def _read_webhook(case: Case) -> Call:
    webhook_id = await _webhook(case)
    return Call("GET", f"/v1/webhooks/{webhook_id}", object_id=webhook_id)


@drives("DELETE /v1/webhooks/{webhook_id}")
async def _delete_webhook(case: Case) -> Call:
    webhook_id = await _webhook(case)
    return Call("DELETE", f"/v1/webhooks/{webhook_id}", object_id=webhook_id)


@drives("POST /v1/webhooks/{webhook_id}/enable")
async def _enable_webhook(case: Case) -> Call:
    webhook_id = await _webhook(case)
    return Call("POST", f"/v1/webhooks/{webhook_id}/enable", object_id=webhook_id)


@drives("GET /v1/webhooks/{webhook_id}/deliveries")
async def _list_webhook_deliveries(case: Case) -> Call:
    webhook_id = await _webhook(case)
    return Call("GET", f"/v1/webhooks/{webhook_id}/deliveries", object_id=webhook_id)


# -- callers who know a phone number or an e-mail (decision 0044) ---------------------------------
#
# A caller who names a person's phone or e-mail when creating a candidate or keying in a form
# finds that person again only if its own side holds them: its organisation, or for a facilitator
# its territory. Anybody else's person is neither opened nor revealed: the caller gets its own
# record, with the very answer it gets for a contact nobody has, and reads nothing of theirs
# afterwards. ``KNOWN_BY`` says where the person named is known:
#
# - ``own``: shared with the caller's organisation (the operator for the admin);
# - ``territory``: shared with territory A's buyer only (below the facilitator, no caller's own);
# - ``other``: shared with territory B's agency only;
# - ``nobody``: nobody has the contact.

FOUND: Final = "found"  # the answer names the person known, as the same organisation's record
NEW: Final = "new"  # the answer for somebody new: a record of the caller's own, nothing of theirs

_CREATE_CONTACT: Final[dict[str, tuple[Outcome, ...]]] = {
    #              admin  facil  presc  recep  emplo  key  anon
    "own":        (FOUND, FOUND, FOUND, 403,   403,   403, 401),
    "territory":  (NEW,   FOUND, NEW,   403,   403,   403, 401),
    "other":      (NEW,   NEW,   NEW,   403,   403,   403, 401),
    "nobody":     (NEW,   NEW,   NEW,   403,   403,   403, 401),
}  # fmt: skip
_INTAKE_CONTACT: Final[dict[str, tuple[Outcome, ...]]] = {
    #              admin  facil  presc  recep  emplo  key  anon
    "own":        (FOUND, FOUND, FOUND, FOUND, 403,   403, 401),
    "territory":  (NEW,   FOUND, NEW,   NEW,   403,   403, 401),
    "other":      (NEW,   NEW,   NEW,   NEW,   403,   403, 401),
    "nobody":     (NEW,   NEW,   NEW,   NEW,   403,   403, 401),
}  # fmt: skip
CONTACT_MATRIX: Final[dict[str, dict[str, tuple[Outcome, ...]]]] = {
    "POST /v1/candidates": _CREATE_CONTACT,
    "POST /v1/intakes": _INTAKE_CONTACT,
    "POST /v1/intakes/batch": _INTAKE_CONTACT,
}
KNOWN_BY: Final = ("own", "territory", "other", "nobody")
CONTACTS: Final = ("phone", "email")


def _contact_cells() -> list[Any]:
    return [
        pytest.param(
            operation,
            caller,
            known_by,
            contact,
            id=f"{operation} | {caller} | {known_by} | {contact}",
        )
        for operation, row in CONTACT_MATRIX.items()
        for known_by in KNOWN_BY
        for caller in CALLERS
        for contact in CONTACTS
        if row[known_by][CALLERS.index(caller)] is not NA
    ]


@dataclass(frozen=True)
class Contact:
    """A phone number (as keyed, and in E.164) and an e-mail address."""

    phone: str
    e164: str
    email: str

    @classmethod
    def unique(cls, run: str) -> Contact:
        n = next(_unique)
        digits = f"{n // 10000 % 100:02d}{n // 100 % 100:02d}{n % 100:02d}"
        return cls(
            phone=f"06 {digits[:2]} {digits[2:4]} {digits[4:]} 47",
            e164=f"+336{digits}47",
            email=f"connu.{run}.{n}@exemple.fr",
        )


async def _known_person(world: World, organisation: str, contact: Contact) -> dict[str, str]:
    """A person ``organisation`` holds, with what only it collected: its id and those values."""
    candidate = await make_candidate(
        world.session,
        await world.organisation(organisation),
        first_name="Secrète",
        last_name=f"Connue{world.run}",
        phone_e164=contact.e164,
        email=contact.email,
    )
    intake = Intake(
        candidate_id=candidate.id,
        organisation_id=world.organisations[organisation].id,
        source=IntakeSource.KIOSK,
        deposit_date=date(2026, 2, 20),
        answers={"nom": f"CONNUE{world.run}", "ville": "Pantin-la-Secrète"},
    )
    world.session.add(intake)
    world.session.add(EligibilityCriterion(candidate_id=candidate.id, kind=EligibilityKind.RSA))
    await world.session.flush()
    return {
        "id": str(candidate.id),
        "intake": str(intake.id),
        "name": f"Connue{world.run}",
        "first_name": "Secrète",
        "answer": "Pantin-la-Secrète",
    }


def _naming(operation: str, given: dict[str, str], place: str) -> tuple[str, dict[str, Any]]:
    """The request of ``operation`` naming somebody by ``given`` (and a name of its own)."""
    if operation == "POST /v1/candidates":
        return "/v1/candidates", {"first_name": "Inès", "last_name": "Matrice", **given}
    form: dict[str, Any] = {
        "first_name": "Inès",
        "last_name": "Matrice",
        "needs": ["job"],
        "consent": True,
        "consent_text_version": "borne-2024-01",
    }
    if "phone" in given:
        form["mobile_phone"] = given["phone"]
    if "email" in given:
        form["email"] = given["email"]
    if operation == "POST /v1/intakes":
        return "/v1/intakes", {**form, "place_organisation_id": place}
    return "/v1/intakes/batch", {"place_organisation_id": place, "forms": [form]}


def _answer(operation: str, response: httpx.Response) -> tuple[str, str]:
    """(the candidate the answer names, how it says it: matched or not, created or linked)."""
    body = response.json()
    if operation == "POST /v1/candidates":
        return body["id"], f"matched_existing={body['matched_existing']}"
    if operation == "POST /v1/intakes":
        return body["candidate_id"], body["status"]
    (result,) = body["results"]
    return result["candidate_id"], result["status"]


async def _shares(session: AsyncSession, candidate_id: str) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(col(CandidateShare.organisation_id)).where(
            col(CandidateShare.candidate_id) == uuid.UUID(candidate_id)
        )
    )
    return set(rows)


def _shape(value: Any) -> Any:
    """The body's structure: its keys, nested, without the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


@pytest.mark.parametrize(("operation", "caller", "known_by", "contact"), _contact_cells())
async def test_knowing_a_phone_or_an_email(
    operation: str,
    caller: str,
    known_by: str,
    contact: str,
    world: World,
    api: httpx.AsyncClient,
    db_session: AsyncSession,
) -> None:
    expected = CONTACT_MATRIX[operation][known_by][CALLERS.index(caller)]
    _, headers = await world.caller(caller)
    known_contact, fresh = Contact.unique(world.run), Contact.unique(world.run)
    holder = {
        "own": home(caller),
        "territory": "buyer A",
        "other": "agency B",
        "nobody": None,
    }[known_by]
    known = await _known_person(world, holder, known_contact) if holder else None
    before = await _shares(db_session, known["id"]) if known else set()
    place = await world.organisation_id("agency A" if caller == "prescriber" else "landlord A")
    field_name = "phone" if contact == "phone" else "email"
    given = {field_name: getattr(known_contact, field_name)}
    path, body = _naming(operation, given, place)

    response = await api.post(path, json=body, headers=headers)

    if not response.is_success:
        assert response.status_code == expected, response.text
        return
    named_id, said = _answer(operation, response)
    got = FOUND if known is not None and named_id == known["id"] else NEW
    assert got == expected, (
        f"{operation} as {caller}, the person known by {known_by}: 0044 says {expected}, the "
        f"API answered {got} ({response.status_code}: {response.text[:300]})"
    )
    if got == FOUND:
        return

    # The same answer as for a contact nobody has: status, shape, and how it is said.
    twin_path, twin_body = _naming(operation, {field_name: getattr(fresh, field_name)}, place)
    twin = await api.post(twin_path, json=twin_body, headers=headers)
    assert twin.status_code == response.status_code, twin.text
    assert _shape(twin.json()) == _shape(response.json())
    assert _answer(operation, twin)[1] == said
    if known is None:
        return
    # Nothing of theirs in the answer, nor anything they collected: the contact detail not
    # given included.
    not_given = known_contact.email if contact == "phone" else known_contact.e164
    for value in (*known.values(), not_given):
        assert value not in response.text, value
    # Theirs stays theirs: not shared with the caller, and out of its reach afterwards.
    assert await _shares(db_session, known["id"]) == before
    for read in (
        f"/v1/candidates/{known['id']}",
        f"/v1/candidates/{known['id']}/eligibility",
        f"/v1/candidates/{known['id']}/export",
        f"/v1/intakes/{known['intake']}",
    ):
        assert (await api.get(read, headers=headers)).status_code == 404, read
    for read in (f"/v1/candidates/{named_id}", "/v1/intakes?limit=200"):
        mine = await api.get(read, headers=headers)
        assert mine.status_code == 200, mine.text
        for value in (*known.values(), not_given):
            assert value not in mine.text, (read, value)


WEBHOOK_OPERATIONS: Final = tuple(
    op for op in MATRIX if op.split(" ")[1].startswith("/v1/webhooks")
)


@pytest.mark.parametrize("operation", WEBHOOK_OPERATIONS)
@pytest.mark.parametrize("caller", ["admin", "facilitator", "prescriber", "reception", "employer"])
async def test_webhooks_a_key_gets_what_a_user_of_its_role_gets(
    operation: str, caller: str, world: World, api: httpx.AsyncClient
) -> None:
    """Decision 0041: one rule for a role, whoever holds it. A key of each role, in the home of
    the user of that role, with the scope "webhooks:write", gets the user's column of MATRIX."""
    role = Role.ADMIN if caller == "admin" else _ROLE[caller]
    _, secret = await world.api_key(home(caller), scopes=["webhooks:write"], role=role)
    for target, outcomes in MATRIX[operation].items():
        expected = outcomes[CALLERS.index(caller)]
        call = await DRIVERS[operation](Case(world, api, caller, target))
        response = await api.request(
            call.method, call.path, json=call.body, headers={"X-API-Key": secret, **call.headers}
        )
        got = _outcome(response, call)
        assert got == expected, (
            f"{operation} with a {role} key on {target}: {expected} for the user, {got} for the "
            f"key ({response.status_code}: {response.text[:300]})"
        )
