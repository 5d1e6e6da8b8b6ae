"""Issuing and revoking API keys (admin actions: audited)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.api.api_keys.policy import policy
from services.api.api_keys.schemas import ApiKeyCreate
from services.api.errors import Forbidden, ValidationFailed
from services.api.validation import FieldError
from services.core.clock import now
from services.core.models.api_key import ApiKey
from services.core.models.organisation import Organisation
from services.core.security.principal import Principal
from services.core.security.tokens import new_api_key


async def create_api_key(
    session: AsyncSession, data: ApiKeyCreate, actor: Principal, *, request_id: str | None = None
) -> tuple[ApiKey, str]:
    """The new key and its secret, which is not stored and cannot be shown again."""
    policy.check_role(actor, data.role)
    organisation_id = data.organisation_id or actor.organisation_id
    if organisation_id != actor.organisation_id and not actor.everywhere:
        raise Forbidden("Une clé d'API ne peut être créée que pour votre organisation.")
    errors: list[FieldError] = []
    if await session.get(Organisation, organisation_id) is None:
        errors.append(
            FieldError(
                loc=["body", "organisation_id"], message="organisation inconnue", type="unknown"
            )
        )
    if data.expires_at is not None and data.expires_at <= now():
        errors.append(
            FieldError(
                loc=["body", "expires_at"],
                message="la date doit être dans le futur",
                type="datetime_future",
            )
        )
    if errors:
        raise ValidationFailed(errors)
    secret = new_api_key()
    key = ApiKey(
        organisation_id=organisation_id,
        created_by_id=actor.id if actor.kind == "user" else None,
        name=data.name,
        role=data.role,
        prefix=secret.prefix,
        key_hash=secret.key_hash,
        scopes=data.scopes,
        expires_at=data.expires_at,
    )
    session.add(key)
    await session.flush()
    policy.audit(
        session,
        actor,
        "create",
        key,
        request_id=request_id,
        details={"fields": sorted(data.model_fields_set)},
    )
    return key, secret.key


def revoke_api_key(
    session: AsyncSession, key: ApiKey, actor: Principal, *, request_id: str | None = None
) -> None:
    """Revoking twice changes nothing: the first date stays."""
    if key.revoked_at is not None:
        return
    key.revoked_at = now()
    policy.audit(session, actor, "revoke", key, request_id=request_id)
