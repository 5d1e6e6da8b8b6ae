"""Creating and changing accounts. Personal data: every change is audited, by field name only."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict, Forbidden, ValidationFailed
from services.api.integrity import unique_or_conflict
from services.api.patch import sent
from services.api.users.policy import policy
from services.api.users.schemas import PasswordChange, UserCreate, UserUpdate
from services.api.validation import FieldError
from services.core import audit
from services.core.clock import now
from services.core.models.organisation import Organisation
from services.core.models.user import Permission, RefreshToken, User
from services.core.security.password_policy import password_problem
from services.core.security.passwords import hash_password_off_loop, verify_password_off_loop
from services.core.security.principal import Principal

EMAIL_CONSTRAINT = "uq_user_account_email"


class EmailTaken(Conflict):
    code = "email-taken"
    title = "Adresse déjà utilisée"
    default_detail = "Un compte existe déjà avec cette adresse e-mail."


class OwnAccount(Conflict):
    code = "own-account"
    title = "Modification de son propre compte"
    default_detail = (
        "Vous ne pouvez ni changer votre propre rôle ni désactiver votre propre compte : "
        "demandez-le à un autre administrateur."
    )


class WrongPassword(Forbidden):
    code = "wrong-password"
    title = "Mot de passe actuel incorrect"
    default_detail = "Le mot de passe actuel est incorrect."


class OutsideTerritory(Forbidden):
    default_detail = (
        "Vous ne pouvez créer de compte que dans les organisations de votre territoire."
    )


def check_password(password: str, email: str, field: str) -> None:
    """The password policy (decision 0055): a French 422 naming the field, never the value."""
    problem = password_problem(password, email)
    if problem is not None:
        raise ValidationFailed(
            [FieldError(loc=["body", field], message=problem, type="weak_password")]
        )


async def create_user(
    session: AsyncSession,
    data: UserCreate,
    actor: Principal | None,
    *,
    request_id: str | None = None,
) -> User:
    """``actor`` None: the system (a command run by an operator), who may grant anything."""
    if await session.get(Organisation, data.organisation_id) is None:
        raise ValidationFailed(
            [
                FieldError(
                    loc=["body", "organisation_id"], message="organisation inconnue", type="unknown"
                )
            ]
        )
    if actor is not None:
        if not actor.sees(data.organisation_id):
            raise OutsideTerritory()
        policy.check_grants(actor, role=data.role, added_permissions=frozenset(data.permissions))
    check_password(data.password, data.email, "password")
    user = User(
        email=data.email,
        full_name=data.full_name,
        password_hash=await hash_password_off_loop(data.password),
        organisation_id=data.organisation_id,
        role=data.role,
        is_manager=data.is_manager,
        permissions=[p.value for p in data.permissions],
    )
    async with unique_or_conflict(session, {EMAIL_CONSTRAINT: EmailTaken()}):
        session.add(user)
    audit.record(
        session,
        actor,
        "create",
        "user",
        user.id,
        request_id=request_id,
        details={"fields": sorted(data.model_fields_set)},
    )
    return user


async def update_user(
    session: AsyncSession,
    user: User,
    data: UserUpdate,
    actor: Principal,
    *,
    request_id: str | None = None,
) -> list[str]:
    """Apply the fields sent; the names of those that changed."""
    changes = sent(data)
    if "permissions" in changes:
        changes["permissions"] = [p.value for p in changes["permissions"]]
    changes = {name: value for name, value in changes.items() if getattr(user, name) != value}
    if (
        actor.kind == "user"
        and actor.id == user.id
        and ("role" in changes or changes.get("is_active") is False)
    ):
        raise OwnAccount()
    added = frozenset(Permission(p) for p in changes.get("permissions", [])) - frozenset(
        Permission(p) for p in user.permissions if p in Permission.__members__.values()
    )
    policy.check_grants(actor, role=changes.get("role"), added_permissions=added)
    if not changes:
        return []
    for name, value in changes.items():
        setattr(user, name, value)
    await session.flush()
    await session.refresh(user)
    if changes.get("is_active") is False:
        await revoke_refresh_tokens(session, user.id)
    audit.record(
        session,
        actor,
        "update",
        "user",
        user.id,
        request_id=request_id,
        details={"fields": sorted(changes)},
    )
    return sorted(changes)


async def change_password(
    session: AsyncSession,
    user: User,
    data: PasswordChange,
    actor: Principal,
    *,
    request_id: str | None = None,
) -> None:
    """The owner proves the current password; an admin resetting someone's does not.

    Every session of the account ends (refresh tokens revoked): whoever knew the old password
    is signed out too.
    """
    if actor.kind == "user" and actor.id == user.id:
        if data.current_password is None:
            raise ValidationFailed(
                [
                    FieldError(
                        loc=["body", "current_password"],
                        message="champ obligatoire pour changer votre propre mot de passe",
                        type="missing",
                    )
                ]
            )
        if not await verify_password_off_loop(user.password_hash, data.current_password):
            raise WrongPassword()
    check_password(data.new_password, user.email, "new_password")
    user.password_hash = await hash_password_off_loop(data.new_password)
    await revoke_refresh_tokens(session, user.id)
    audit.record(
        session,
        actor,
        "password_change",
        "user",
        user.id,
        request_id=request_id,
        details={"fields": ["password"]},
    )


async def revoke_refresh_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now())
    )
