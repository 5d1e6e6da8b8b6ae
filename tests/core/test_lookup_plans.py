"""The write path's PL/pgSQL functions probe their indexes even on a table so small that a scan
would look cheaper (migration 0014, decision 0033): their plan is kept for the connection's
life, while the table grows."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.core.settings import Settings


async def _nested_plans(settings: Settings, statement: str) -> str:
    """The plans of every statement ``statement`` runs, functions' included (auto_explain)."""
    connection = await asyncpg.connect(settings.async_database_url.replace("+asyncpg", "", 1))
    plans: list[str] = []
    connection.add_log_listener(lambda _c, message: plans.append(str(message)))
    try:
        await connection.execute("LOAD 'auto_explain'")
        await connection.execute(
            "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;"
            " SET client_min_messages = log"
        )
        transaction = connection.transaction()
        await transaction.start()
        try:
            # The test database holds a few candidates, as a new instance does: without the
            # functions' settings, scanning them is the plan PostgreSQL picks.
            await connection.execute(statement)
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    return "\n".join(plans)


@pytest.mark.usefixtures("reference_data")
async def test_the_contact_lookup_uses_the_phone_and_email_indexes(settings: Settings) -> None:
    plans = await _nested_plans(
        settings,
        "SELECT count(*) FROM candidates_by_contact(ARRAY['+33612345678'], ARRAY['a@b.fr'])",
    )
    assert "ix_candidate_phone_e164" in plans and "ix_candidate_email" in plans
    assert "Seq Scan on candidate" not in plans
    assert "Hash Join" not in plans


@pytest.mark.usefixtures("reference_data")
async def test_the_match_profile_sync_probes_by_id(settings: Settings) -> None:
    plans = await _nested_plans(
        settings, f"SELECT match_profile_sync(ARRAY['{uuid.uuid4()}']::uuid[])"
    )
    assert "pk_match_profile" in plans and "pk_candidate" in plans
    assert "Seq Scan on match_profile" not in plans
    assert "Seq Scan on candidate" not in plans
