"""Property-based fuzzing of every operation of the OpenAPI document (quality target R2).

For each operation, schemathesis generates requests from the schema the application itself serves
— valid ones and deliberately broken ones — and each is sent to the API in-process, in the test's
rolled-back transaction, by a real caller of a small territory: the administrator, a facilitator,
a prescriber or an API key. Half of the requests name objects that exist (organisations, a
contract, offers, candidates, an intake and its file, a match, a callback case, a webhook), so
they reach the code behind the look-ups instead of stopping at 404.

Every response must be no server error (5xx), have a status, a content type and a body the
document declares for that operation, and, when it is an error, be an ``application/problem+json``
document with a French title, whose messages never repeat what was sent.

Schemathesis's phases run for every operation: examples and coverage (the schema's examples;
boundary values, missing and wrong-typed parameters and fields: at most ``COVERAGE_CASES`` spread
over the list), then fuzzing with valid and with broken input. The stateful phase is not run: the
document declares no links between operations for it to follow. Generation is derandomised (a fixed
seed: the same cases at every run) and bounded by ``MAX_EXAMPLES`` per operation and generation
mode, about a minute in all. A failure lists one example of each kind of failure with the
command that reproduces it.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import httpx
import pytest
import redis.asyncio as aioredis
import requests
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.api.api_keys.schemas import SCOPES
from services.api.app import create_app
from services.api.errors import MaillonError
from services.api.referentials.indexes import RomeIndex, load_rome_index
from services.core.callbacks.schedule import due_at as callback_due_at
from services.core.clock import FrozenClock
from services.core.db import create_sessionmaker
from services.core.geo.qpv import QpvIndex
from services.core.models.api_key import ApiKey
from services.core.models.callback import CallbackCase
from services.core.models.contract import ContractStatus
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.intake import Intake, IntakeFile, IntakeFileKind, IntakeSource
from services.core.models.match import MatchStatus
from services.core.models.notification import WebhookSubscription
from services.core.models.offer import OfferStatus
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.referentials.loader import ImportSummary
from services.core.referentials.store import DatasetKind, current_dataset
from services.core.security import passwords
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

# Cases per operation and per generation mode (valid, then broken input). A deeper run, on
# purpose: MAILLON_FUZZ_EXAMPLES=200 pytest tests/test_fuzz.py
MAX_EXAMPLES: Final = int(os.environ.get("MAILLON_FUZZ_EXAMPLES", "10"))
# Cases per operation from the examples and coverage phases (several hundred for some).
COVERAGE_CASES: Final = int(os.environ.get("MAILLON_FUZZ_COVERAGE_CASES", "10"))

CALLERS: Final = ("admin", "facilitator", "prescriber", "key")

CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The document, as the application builds it: operations are known when tests are collected
# (the first test checks that the running application serves the same one).
_SETTINGS_FOR_THE_DOCUMENT: Final = Settings(
    environment="test",
    database_url="postgresql://postgres@127.0.0.1:1/postgres",
    redis_url="redis://127.0.0.1:1/0",
)
DOCUMENT: Final[dict[str, Any]] = create_app(_SETTINGS_FOR_THE_DOCUMENT).openapi()
SCHEMA: Final = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS: Final = {
    f"{operation.method.upper()} {operation.path}": operation
    for operation in (
        result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)
    )
}

# Titles of the problem documents: the French ones of the error hierarchy.


def _titles(cls: type[MaillonError]) -> set[str]:
    return {cls.title}.union(*(_titles(sub) for sub in cls.__subclasses__()))


FRENCH_TITLES: Final = _titles(MaillonError) | {"Requête refusée", "Erreur du serveur"}
# pydantic's and Starlette's own English messages, which must never reach a client.
ENGLISH: Final = re.compile(
    r"\b(Input should|Field required|should be|must be|is not a valid|Value error|"
    r"Not Found|Method Not Allowed|Internal Server Error|Unauthorized|Forbidden)\b"
)


CODE: Final = re.compile(r"[a-z0-9_.:-]+")


# -- the territory -------------------------------------------------------------------------------


@dataclass
class Territory:
    """Real objects of one territory, by the name of the parameter or field that holds their id,
    and the credentials of each caller."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, name: str, value: object) -> None:
        self.ids.setdefault(name, []).append(str(value))


async def make_territory(session: AsyncSession, settings: Settings) -> Territory:
    """facilitation ─┬─ agency (prescriber; candidates, their intake, eligibility, a callback case)
                     ├─ landlord (the borne where the intake was left)
                     ├─ employer (open and draft offers; a match; a webhook)
                     └─ buyer (an active contract held by the employer)
    operator (the administrator)"""
    territory = Territory()
    facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    agency = await make_organisation(
        session, kind=OrganisationKind.FRANCE_TRAVAIL, parent=facilitation
    )
    landlord = await make_organisation(
        session, kind=OrganisationKind.SOCIAL_LANDLORD, parent=facilitation
    )
    employer = await make_organisation(session, kind=OrganisationKind.EMPLOYER, parent=facilitation)
    buyer = await make_organisation(session, kind=OrganisationKind.BUYER, parent=facilitation)
    operator = await make_organisation(session, kind=OrganisationKind.OTHER)
    for organisation in (agency, employer, facilitation, landlord, buyer, operator):
        territory.add("organisation_id", organisation.id)

    admin = await make_user(session, operator, Role.ADMIN)
    facilitator = await make_user(session, facilitation, Role.FACILITATOR)
    prescriber = await make_user(session, agency, Role.PRESCRIBER)
    reception = await make_user(session, landlord, Role.RECEPTION)
    for user in (prescriber, facilitator, admin):
        territory.add("user_id", user.id)
    territory.add("username", prescriber.email)
    territory.headers = {
        "admin": bearer(admin, settings),
        "facilitator": bearer(facilitator, settings),
        "prescriber": bearer(prescriber, settings),
    }
    secret = new_api_key()
    key = ApiKey(
        organisation_id=agency.id,
        name="Logiciel de l'agence",
        role=Role.PRESCRIBER,
        prefix=secret.prefix,
        key_hash=secret.key_hash,
        scopes=sorted(SCOPES),
    )
    session.add(key)
    await session.flush()
    territory.add("api_key_id", key.id)
    territory.headers["key"] = {"X-API-Key": secret.key}

    contract = await make_contract(
        session, buyer, holders=[employer], lots=[(1, "Gros œuvre")], status=ContractStatus.ACTIVE
    )
    territory.add("contract_id", contract.id)
    open_offer = await make_offer(session, employer, status=OfferStatus.OPEN, contract=contract)
    draft = await make_offer(session, employer, status=OfferStatus.DRAFT)
    territory.add("offer_id", open_offer.id)
    territory.add("offer_id", draft.id)

    candidate = await make_candidate(session, agency, last_name="Fuzz")
    duplicate = await make_candidate(session, agency, last_name="Fuzz")
    territory.add("candidate_id", candidate.id)
    territory.add("duplicate_id", duplicate.id)
    criterion = EligibilityCriterion(candidate_id=candidate.id, kind=EligibilityKind.RSA)
    session.add(criterion)
    intake = Intake(
        candidate_id=candidate.id,
        organisation_id=landlord.id,
        source=IntakeSource.KIOSK,
        deposit_date=date(2026, 2, 23),
        entered_by_user_id=reception.id,
    )
    session.add(intake)
    await session.flush()
    territory.add("criterion_id", criterion.id)
    territory.add("intake_id", intake.id)
    stored = await create_storage(settings).put(new_key(), b"%PDF-1.4\n%%EOF\n")
    intake_file = IntakeFile(
        intake_id=intake.id,
        kind=IntakeFileKind.CV,
        storage_key=stored.key,
        original_name="cv.pdf",
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
    )
    session.add(intake_file)
    callback = CallbackCase(
        candidate_id=candidate.id,
        intake_id=intake.id,
        received_by_organisation_id=landlord.id,
        deposit_date=intake.deposit_date,
        due_at=callback_due_at(intake.deposit_date, 30),
        organisation_id=agency.id,
    )
    session.add(callback)
    subscription = WebhookSubscription(
        organisation_id=facilitation.id,
        url="https://hooks.exemple.fr/maillon",
        event_types=["offer.published"],
        secret=new_secret(),
        role=Role.FACILITATOR,
    )
    session.add(subscription)
    await session.flush()
    territory.add("file_id", intake_file.id)
    territory.add("callback_id", callback.id)
    territory.add("webhook_id", subscription.id)
    match = await make_match(
        session, open_offer, candidate, status=MatchStatus.PROPOSED_TO_EMPLOYER
    )
    territory.add("match_id", match.id)

    # Fields of bodies and queries that name objects of another kind than their own name says.
    for name, source in {
        "parent_id": "organisation_id",
        "employer_id": "organisation_id",
        "buyer_id": "organisation_id",
        "place_organisation_id": "organisation_id",
        "actor_id": "user_id",
        "resource_id": "candidate_id",
        "holder_ids": "organisation_id",
    }.items():
        territory.ids[name] = territory.ids[source]
    return territory


# Path parameters that are no ids: a real value of the referential.
REAL_CODES: Final = {
    "/v1/referentials/rome/{code}": "F1703",
    "/v1/referentials/sectors/{code}": "construction",
    "/v1/referentials/communes/{insee}": "93066",
}


# Bodies that pass the rules beyond the schema; ids are swapped for real ones (see
# ``with_real_ids``) in half of the cases.
_SOME_ID: Final = "00000000-0000-7000-8000-000000000000"
_JSON: Final = "application/json"
_BORNE_FORM: Final = {
    "last_name": "Fuzz",
    "first_name": "Inès",
    "mobile_phone": "06 45 12 33 44",
    "commune_insee": "93066",
    "sectors_wanted": ["cleaning"],
    "needs": ["job"],
    "consent": True,
    "consent_text_version": "borne-2024-01",
}
VALID_BODIES: Final[dict[str, tuple[str, Any]]] = {
    "POST /v1/auth/token": (
        "application/x-www-form-urlencoded",
        {"grant_type": "password", "username": "someone@exemple.fr", "password": PASSWORD},
    ),
    "POST /v1/organisations": (
        _JSON,
        {
            "name": "Bâtir Ensemble",
            "kind": "employer",
            "commune_insee": "93066",
            "parent_id": _SOME_ID,
        },
    ),
    "PATCH /v1/organisations/{organisation_id}": (_JSON, {"address": "12 rue de la République"}),
    "POST /v1/users": (
        _JSON,
        {
            "email": "nouvelle.personne@exemple.fr",
            "full_name": "Nouvelle Personne",
            "password": "un mot de passe tout neuf",
            "organisation_id": _SOME_ID,
            "role": "employer",
        },
    ),
    "PATCH /v1/users/{user_id}": (_JSON, {"full_name": "Nom d'usage changé"}),
    "POST /v1/users/{user_id}/password": (
        _JSON,
        {"current_password": PASSWORD, "new_password": "un tout nouveau mot de passe"},
    ),
    "POST /v1/api-keys": (
        _JSON,
        {
            "name": "SIRH",
            "role": "employer",
            "scopes": ["offers:read"],
            "organisation_id": _SOME_ID,
        },
    ),
    "POST /v1/contracts": (
        _JSON,
        {
            "buyer_id": _SOME_ID,
            "reference": "FUZZ-1",
            "title": "Construction d'un groupe scolaire",
            "clause_kind": "execution",
            "start_date": "2026-04-01",
            "end_date": "2027-09-30",
            "required_insertion_hours": "2000.00",
            "lots": [{"number": 1, "title": "Gros œuvre"}],
            "holder_ids": [_SOME_ID],
        },
    ),
    "PATCH /v1/contracts/{contract_id}": (_JSON, {"title": "Réhabilitation de 140 logements"}),
    "POST /v1/offers": (
        _JSON,
        {
            "employer_id": _SOME_ID,
            "title": "Coffreur ou coffreuse",
            "rome_code": "F1703",
            "commune_insee": "93066",
        },
    ),
    "PATCH /v1/offers/{offer_id}": (_JSON, {"title": "Maçon ou maçonne VRD"}),
    "POST /v1/offers/{offer_id}/close": (_JSON, {"reason": "filled"}),
    "POST /v1/candidates": (
        _JSON,
        {
            "first_name": "Aïcha",
            "last_name": "Fuzz",
            "phone": "06 12 34 56 78",
            "commune_insee": "93066",
        },
    ),
    "POST /v1/candidates/search": (_JSON, {"q": "fuzz"}),
    "PATCH /v1/candidates/{candidate_id}": (_JSON, {"hours_per_week": 35}),
    "POST /v1/candidates/{candidate_id}/merge": (_JSON, {"duplicate_id": _SOME_ID}),
    "POST /v1/candidates/{candidate_id}/eligibility": (_JSON, {"kind": "RSA"}),
    "POST /v1/intakes": (_JSON, {**_BORNE_FORM, "place_organisation_id": _SOME_ID}),
    "POST /v1/intakes/batch": (
        _JSON,
        {
            "place_organisation_id": _SOME_ID,
            "collected_on": "2026-02-27",
            "forms": [_BORNE_FORM],
        },
    ),
    "POST /v1/matches/{match_id}/transitions": (_JSON, {"to": "hired"}),
    "POST /v1/callbacks/{callback_id}/attempts": (
        _JSON,
        {"channel": "phone", "result": "no_answer"},
    ),
    "POST /v1/callbacks/{callback_id}/outcome": (_JSON, {"outcome": "advice"}),
    "POST /v1/callbacks/{callback_id}/assign": (_JSON, {}),
    "PUT /v1/me/notification-preferences": (
        _JSON,
        {"preferences": [{"kind": "callback.reminder", "channels": [], "mode": "immediate"}]},
    ),
    "POST /v1/webhooks": (
        _JSON,
        {"url": "https://hooks.exemple.fr/maillon", "event_types": ["match.suggested"]},
    ),
}


# -- generation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    case: schemathesis.Case[Any]
    caller: str
    real_ids: bool  # swap generated ids for the territory's
    pick: int  # which of the real objects of a kind


def draws(operation: Any, mode: GenerationMode) -> list[Draw]:
    """The cases hypothesis generates for ``operation``, the same at every run."""
    found: list[Draw] = []
    cases = operation.as_strategy(generation_mode=mode)
    example = VALID_BODIES.get(f"{operation.method.upper()} {operation.path}")
    if example is not None and mode is GenerationMode.POSITIVE:
        # Half of the valid cases start from a body that passes the rules beyond the schema
        # (SIRET, INSEE code, phone number…), so that creations and changes go through.
        media_type, body = example
        cases = cases | operation.as_strategy(body=body, media_type=media_type)

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=cases,
        caller=st.sampled_from(CALLERS),
        real_ids=st.booleans(),
        pick=st.integers(min_value=0, max_value=5),
    )
    def collect(case: schemathesis.Case[Any], caller: str, real_ids: bool, pick: int) -> None:
        found.append(Draw(case, caller, real_ids, pick))

    try:
        collect()
    except Unsatisfiable:
        # Nothing to break (no parameter, no body): no broken case.
        assert mode is GenerationMode.NEGATIVE
    return found


def phase_draws(operation: Any) -> list[Draw]:
    """The cases of schemathesis's examples and coverage phases for ``operation`` (the schema's
    examples; boundary values, missing and wrong-typed parameters and fields), at most
    ``COVERAGE_CASES`` of them spread over the whole list, each by a caller in turn."""
    found: list[schemathesis.Case[Any]] = []

    def collect(case: schemathesis.Case[Any]) -> None:
        found.append(case)

    config = HypothesisTestConfig(
        project=SCHEMA.config,
        modes=[HypothesisTestMode.EXAMPLES, HypothesisTestMode.COVERAGE],
        settings=settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit],
            suppress_health_check=list(HealthCheck),
        ),
    )
    create_test(operation=operation, test_func=collect, config=config)()
    step = max(1.0, len(found) / COVERAGE_CASES)
    chosen = [found[int(i * step)] for i in range(min(COVERAGE_CASES, len(found)))]
    return [
        Draw(case, CALLERS[i % len(CALLERS)], real_ids=i % 2 == 0, pick=i)
        for i, case in enumerate(chosen)
    ]


def modes(operation: Any) -> list[GenerationMode]:
    """Valid input, then broken input where there is something to break: a parameter in the path
    or the query, or a body (a header alone, as If-None-Match, takes any text)."""
    definition = operation.definition.raw
    breakable = "requestBody" in definition or any(
        parameter.get("in") in ("path", "query") for parameter in definition.get("parameters", [])
    )
    if breakable:
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def _real(territory: Territory, name: str, pick: int) -> str | None:
    ids = territory.ids.get(name)
    return ids[pick % len(ids)] if ids else None


def with_real_ids(draw: Draw, territory: Territory) -> None:
    """Swap the generated ids of the case for the territory's objects (in place)."""
    case = draw.case
    if case.path in REAL_CODES:
        (name,) = case.path_parameters
        case.path_parameters[name] = REAL_CODES[case.path]
    for name in list(case.path_parameters):
        real = _real(territory, name, draw.pick)
        if real is not None:
            case.path_parameters[name] = real
    for name in list(case.query or {}):
        real = _real(territory, name, draw.pick)
        if real is not None:
            case.query[name] = real
    if isinstance(case.body, dict):
        case.body = copy.deepcopy(case.body)  # a fixed body may be shared by several cases
        for name, value in list(case.body.items()):
            real = _real(territory, name, draw.pick)
            if real is None:
                continue
            case.body[name] = [real] if isinstance(value, list) else real
    declared = {
        parameter["name"]
        for parameter in case.operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "header"
    }
    if case.headers is None:
        case.headers = {}
    if "If-Match" in declared:
        # The current version, whatever it is: the update goes through to the service.
        case.headers["If-Match"] = "*"
    if "If-None-Match" in declared and draw.pick % 2 == 0:
        case.headers["If-None-Match"] = "*"  # the client's copy is current: 304


# -- sending and checking ------------------------------------------------------------------------


def prepared(draw: Draw, territory: Territory) -> requests.PreparedRequest:
    """The request, encoded as schemathesis does it (JSON, form, multipart) with the caller's
    credentials; sent below by an in-process httpx client."""
    if draw.case.headers is not None:
        # The credentials are the caller's, not generated ones (schemathesis fills the API key
        # header of the security scheme with random text).
        for name in ("X-API-Key", "Authorization"):
            draw.case.headers.pop(name, None)
    headers = dict(territory.headers[draw.caller])
    kwargs = draw.case.as_transport_kwargs(base_url="http://test", headers=headers)
    kwargs.pop("cookies", None)
    allowed = {"method", "url", "headers", "params", "data", "json", "files"}
    return requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}).prepare()


def _sent_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _sent_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _sent_strings(item)


def problems_of(response: httpx.Response, case: schemathesis.Case[Any]) -> list[str]:
    """What is wrong with an error response beyond the schema: not a French problem document,
    or one that repeats a value the client sent."""
    if response.status_code < 400:
        return []
    if response.headers.get("content-type") != "application/problem+json":
        return [f"an error answered as {response.headers.get('content-type')!r}"]
    body = response.json()
    found = []
    if body.get("status") != response.status_code:
        found.append("the problem's status is not the response's")
    if not str(body.get("type", "")).startswith("/problems/"):
        found.append(f"type {body.get('type')!r} is not /problems/<code>")
    if body.get("title") not in FRENCH_TITLES:
        found.append(f"title {body.get('title')!r} is not one of the French titles")
    texts = [str(body.get("detail", ""))] + [
        str(error.get("message", "")) for error in body.get("errors", [])
    ]
    for text in texts:
        if ENGLISH.search(text):
            found.append(f"an English message: {text!r}")
    # Free text sent (codes and choices, which a message may name, left aside).
    sent = [
        s
        for s in _sent_strings([case.body, case.query, case.path_parameters])
        if len(s) >= 8 and len(set(s.strip())) >= 4 and not CODE.fullmatch(s)
    ]
    for text in texts:
        if any(value in text for value in sent):
            found.append("a message repeats a value sent")
    return found


async def exercise(
    api: httpx.AsyncClient, territory: Territory, draw: Draw
) -> tuple[httpx.Response | None, list[str]]:
    request = prepared(draw, territory)
    body = request.body.encode() if isinstance(request.body, str) else request.body
    assert body is None or isinstance(body, bytes)
    # Bytes as they are: a generated header may hold characters outside ASCII, which a client
    # sends as raw bytes (httpx refuses to encode them from text).
    headers = {
        name.encode(): value if isinstance(value, bytes) else value.encode()
        for name, value in request.headers.items()
    }
    try:
        response = await api.request(
            str(request.method), str(request.url), headers=headers, content=body
        )
    except Exception as exc:  # the exception escaped the application: a server error too
        return None, [f"exception {type(exc).__name__}: {exc}"]
    failures = problems_of(response, draw.case)
    try:
        draw.case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        failures[:0] = [
            f"{failure.title}: {failure.message.strip().splitlines()[0] if failure.message else ''}"
            for failure in group.exceptions
        ]
    return response, failures


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def cheap_new_password_hashes() -> Iterator[None]:
    """Accounts and passwords the fuzzer creates take the lowest argon2 cost (the hashing is not
    what is tested here; production's cost would be 0.2 s a hash)."""
    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._hasher = production


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
    shared_client: tuple[httpx.AsyncClient, TestTransaction],
    db_session: AsyncSession,
    redis_client: aioredis.Redis,
) -> Iterator[httpx.AsyncClient]:
    client, current = shared_client
    current.session = db_session
    yield client
    current.session = None


@pytest.fixture
async def territory(db_session: AsyncSession, settings: Settings, clock: FrozenClock) -> Territory:
    return await make_territory(db_session, settings)


# -- the tests -----------------------------------------------------------------------------------


async def test_the_fuzzed_document_is_the_one_the_api_serves(api: httpx.AsyncClient) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200, response.text
    assert response.json() == DOCUMENT
    assert len(OPERATIONS) == sum(len(methods) for methods in DOCUMENT["paths"].values())


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_fuzz(operation: str, api: httpx.AsyncClient, territory: Territory) -> None:
    schema_operation = OPERATIONS[operation]
    failures: dict[str, str] = {}
    statuses: list[int] = []
    phases = [("examples+coverage", phase_draws(schema_operation))] + [
        (f"fuzzing {mode.value}", draws(schema_operation, mode)) for mode in modes(schema_operation)
    ]
    for phase, cases in phases:
        for draw in cases:
            if draw.real_ids:
                with_real_ids(draw, territory)
            response, found = await exercise(api, territory, draw)
            if response is not None:
                statuses.append(response.status_code)
            for failure in found:
                # One example of each kind of failure, reproducible with its curl command.
                failures.setdefault(
                    failure,
                    f"{failure}\n  as {draw.caller} ({phase}): "
                    + draw.case.as_curl_command(base_url="http://test")
                    + (f"\n  -> {response.status_code} {response.text[:500]}" if response else ""),
                )
    assert statuses, f"{operation}: no request sent"
    assert not failures, f"{operation}:\n" + "\n\n".join(failures.values())
