from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models import metadata


async def test_schema_made_by_alembic_matches_the_models(db_session: AsyncSession) -> None:
    rows = await db_session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    tables = {r[0] for r in rows}
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables
