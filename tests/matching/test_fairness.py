"""The score never reads sex or birth year (product.md §5): a property over random people."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.candidate import Sex
from services.core.models.organisation import OrganisationKind
from services.core.referentials.sectors import SectorCode
from services.core.settings import Settings
from services.matching.ranking import rank_candidates_for_offer, rank_offers_for_candidate
from tests.factories import make_organisation
from tests.matching.support import START, TODAY, add_candidate, add_offer

sexes = st.sampled_from([None, Sex.FEMALE, Sex.MALE])
birth_years = st.one_of(st.none(), st.integers(min_value=1940, max_value=2010))


@dataclass(frozen=True)
class Person:
    km: float
    qpv: bool
    late_days: int | None
    hours: int | None
    radius: int | None
    wanted: list[SectorCode]
    worked: list[SectorCode]
    sex: Sex | None
    birth_year: int | None


sectors = st.lists(st.sampled_from(list(SectorCode)), max_size=3, unique=True)
person = st.builds(
    Person,
    km=st.floats(min_value=0, max_value=14),
    qpv=st.booleans(),
    late_days=st.one_of(st.none(), st.integers(min_value=-60, max_value=150)),
    hours=st.sampled_from([None, 20, 35]),
    radius=st.sampled_from([None, 10, 15, 30]),
    wanted=sectors,
    worked=sectors,
    sex=sexes,
    birth_year=birth_years,
)


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    people=st.lists(person, min_size=1, max_size=6),
    new_traits=st.lists(st.tuples(sexes, birth_years), min_size=6, max_size=6),
)
async def test_changing_sex_or_birth_year_never_changes_a_score(
    db_session: AsyncSession,
    settings: Settings,
    people: list[Person],
    new_traits: list[tuple[Sex | None, int | None]],
) -> None:
    employer = await make_organisation(db_session, kind=OrganisationKind.EMPLOYER)
    offer = await add_offer(db_session, employer)
    candidates = []
    for one in people:
        late = None if one.late_days is None else START + timedelta(days=one.late_days)
        candidates.append(
            await add_candidate(
                db_session,
                km=one.km,
                qpv=one.qpv,
                available_from=late,
                hours=one.hours,
                radius=one.radius,
                wanted=one.wanted,
                worked=one.worked,
                sex=one.sex,
                birth_year=one.birth_year,
            )
        )

    async def scores() -> tuple[dict[uuid.UUID, float], dict[uuid.UUID, list[float]]]:
        for_offer = await rank_candidates_for_offer(
            db_session, offer.id, settings=settings, limit=1000, today=TODAY
        )
        for_people = {
            c.id: [
                o.score
                for o in await rank_offers_for_candidate(
                    db_session, c.id, settings=settings, limit=None, today=TODAY
                )
            ]
            for c in candidates
        }
        return {r.candidate_id: r.score for r in for_offer}, for_people

    before = await scores()
    for candidate, (sex, birth_year) in zip(candidates, new_traits, strict=False):
        await db_session.execute(
            text("UPDATE candidate SET sex = :sex, birth_year = :year WHERE id = :id"),
            {"sex": sex.value if sex else None, "year": birth_year, "id": candidate.id},
        )
    assert await scores() == before
