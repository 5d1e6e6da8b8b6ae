"""Small async factories: real rows in the test's transaction."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import now
from services.core.geo.communes import normalise_name
from services.core.models.api_key import ApiKey
from services.core.models.candidate import Candidate, CandidateShare, CandidateStatus, ShareReason
from services.core.models.contract import (
    ClauseKind,
    Contract,
    ContractHolder,
    ContractLot,
    ContractStatus,
    QpvPriority,
)
from services.core.models.match import Match, MatchStatus, MatchTransition
from services.core.models.offer import PUBLISHED_STATUSES, ContractType, Offer, OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Permission, Role, User
from services.core.referentials.sectors import sector_for_rome
from services.core.security.passwords import hash_password
from services.core.security.tokens import create_access_token, new_api_key
from services.core.settings import Settings

PASSWORD = "un mot de passe solide"
# argon2 is slow on purpose: hash the shared test password once.
_PASSWORD_HASH = hash_password(PASSWORD)
_numbers = itertools.count(1)


async def make_organisation(
    session: AsyncSession,
    *,
    kind: OrganisationKind = OrganisationKind.EMPLOYER,
    name: str | None = None,
    parent: Organisation | None = None,
    commune_insee: str = "93066",
    siret: str | None = None,
) -> Organisation:
    organisation = Organisation(
        name=name or f"Structure {next(_numbers)}",
        kind=kind,
        parent_id=parent.id if parent else None,
        commune_insee=commune_insee,
        siret=siret,
    )
    session.add(organisation)
    await session.flush()
    return organisation


async def make_user(
    session: AsyncSession,
    organisation: Organisation,
    role: Role = Role.PRESCRIBER,
    *,
    email: str | None = None,
    is_manager: bool = False,
    permissions: Iterable[Permission] = (),
    is_active: bool = True,
) -> User:
    user = User(
        email=email or f"agent{next(_numbers)}@exemple.fr",
        full_name=f"Agent {next(_numbers)}",
        password_hash=_PASSWORD_HASH,
        organisation_id=organisation.id,
        role=role,
        is_manager=is_manager,
        permissions=[p.value for p in permissions],
        is_active=is_active,
    )
    session.add(user)
    await session.flush()
    return user


def bearer(user: User, settings: Settings) -> dict[str, str]:
    token, _ = create_access_token(user.id, settings)
    return {"Authorization": f"Bearer {token}"}


async def make_api_key(
    session: AsyncSession,
    organisation: Organisation,
    *,
    role: Role = Role.EMPLOYER,
    scopes: Iterable[str] = (),
    revoked_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> dict[str, str]:
    """An HR system's key; returns the headers that carry it."""
    secret = new_api_key()
    session.add(
        ApiKey(
            organisation_id=organisation.id,
            name="SIRH",
            role=role,
            prefix=secret.prefix,
            key_hash=secret.key_hash,
            scopes=list(scopes),
            revoked_at=revoked_at,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return {"X-API-Key": secret.key}


async def make_contract(
    session: AsyncSession,
    buyer: Organisation,
    *,
    holders: Iterable[Organisation] = (),
    lots: Iterable[tuple[int, str]] = (),
    status: ContractStatus = ContractStatus.DRAFT,
    reference: str | None = None,
    is_npnru: bool = False,
    qpv_priority: QpvPriority = QpvPriority.NONE,
    required_insertion_hours: Decimal = Decimal("1500.00"),
) -> Contract:
    contract = Contract(
        buyer_id=buyer.id,
        reference=reference or f"MAR-{next(_numbers)}",
        title="Réhabilitation de 120 logements",
        clause_kind=ClauseKind.EXECUTION,
        start_date=date(2026, 1, 5),
        end_date=date(2027, 6, 30),
        is_npnru=is_npnru,
        qpv_priority=qpv_priority,
        required_insertion_hours=required_insertion_hours,
        status=status,
    )
    contract.holders = [
        ContractHolder(contract_id=contract.id, organisation_id=holder.id) for holder in holders
    ]
    contract.lots = [
        ContractLot(contract_id=contract.id, number=number, title=title) for number, title in lots
    ]
    session.add(contract)
    await session.flush()
    return contract


async def make_offer(
    session: AsyncSession,
    employer: Organisation,
    *,
    status: OfferStatus = OfferStatus.DRAFT,
    contract: Contract | None = None,
    lot: ContractLot | None = None,
    title: str = "Maçon ou maçonne en rénovation",
    rome_code: str = "F1703",
    commune_insee: str | None = "93066",
    positions: int = 2,
    open_positions: int | None = None,
) -> Offer:
    """A complete offer (publishable once its contract, if any, is active)."""
    published = status in PUBLISHED_STATUSES or status is OfferStatus.CLOSED
    offer = Offer(
        contract_id=contract.id if contract else None,
        lot_id=lot.id if lot else None,
        employer_id=employer.id,
        title=title,
        rome_code=rome_code,
        sector=sector_for_rome(rome_code),
        contract_type=ContractType.CDD,
        hours_per_week=Decimal("35.0"),
        positions=positions,
        open_positions=positions if open_positions is None else open_positions,
        start_date=date(2026, 4, 1),
        end_date=date(2026, 12, 31),
        commune_insee=commune_insee,
        status=status,
        published_at=now() if published else None,
        closed_at=now() if status is OfferStatus.CLOSED else None,
    )
    session.add(offer)
    await session.flush()
    return offer


async def make_candidate(
    session: AsyncSession,
    *shared_with: Organisation,
    first_name: str = "Aïcha",
    last_name: str | None = None,
    phone_e164: str | None = None,
    email: str | None = None,
    commune_insee: str | None = "93066",
    status: CandidateStatus = CandidateStatus.NEW,
) -> Candidate:
    """A candidate shared with ``shared_with`` (the first one created it)."""
    number = next(_numbers)
    last = last_name or f"Benali{number}"
    candidate = Candidate(
        first_name=first_name,
        last_name=last,
        search_name=normalise_name(f"{last} {first_name}"),
        phone_e164=phone_e164,
        email=email,
        commune_insee=commune_insee,
        status=status,
    )
    session.add(candidate)
    await session.flush()
    for index, organisation in enumerate(shared_with):
        reason = ShareReason.CREATED if index == 0 else ShareReason.REFERRAL
        session.add(
            CandidateShare(
                candidate_id=candidate.id, organisation_id=organisation.id, reason=reason
            )
        )
    await session.flush()
    return candidate


async def make_match(
    session: AsyncSession,
    offer: Offer,
    candidate: Candidate,
    *,
    points: tuple[float, float, float, float, float] = (40.0, 20.0, 15.0, 15.0, 10.0),
    status: MatchStatus = MatchStatus.SUGGESTED,
    path: Sequence[MatchStatus] | None = None,
    distance_km: float | None = 4.2,
    rank: int | None = 1,
    is_current: bool = True,
) -> Match:
    """A match as the matching worker stores it: ``points`` are sector, QPV, availability,
    distance and eligibility; the score is their sum. A ``status`` past ``suggested`` comes with
    its history (``path``: the statuses passed through, by default the shortest way there)."""
    sector, qpv, availability, distance, eligibility = points
    if path is None:
        path = _MATCH_PATHS.get(status, (status,))
    status = path[-1] if path else MatchStatus.SUGGESTED
    match = Match(
        offer_id=offer.id,
        candidate_id=candidate.id,
        status=status,
        score=sum(points),
        sector_points=sector,
        qpv_points=qpv,
        availability_points=availability,
        distance_points=distance,
        eligibility_points=eligibility,
        distance_km=distance_km,
        rank=rank,
        is_current=is_current,
        status_changed_at=None if status is MatchStatus.SUGGESTED else now(),
    )
    session.add(match)
    await session.flush()
    previous = MatchStatus.SUGGESTED
    for step in path:
        session.add(
            MatchTransition(
                match_id=match.id, from_status=previous, to_status=step, actor_type="user"
            )
        )
        previous = step
    await session.flush()
    return match


_MATCH_PATHS: dict[MatchStatus, tuple[MatchStatus, ...]] = {
    MatchStatus.SUGGESTED: (),
    MatchStatus.CONTACTED: (MatchStatus.CONTACTED,),
    MatchStatus.PROPOSED_TO_EMPLOYER: (MatchStatus.CONTACTED, MatchStatus.PROPOSED_TO_EMPLOYER),
    MatchStatus.HIRED: (
        MatchStatus.CONTACTED,
        MatchStatus.PROPOSED_TO_EMPLOYER,
        MatchStatus.HIRED,
    ),
}
