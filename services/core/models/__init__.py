"""Every table of Maillon, declared once; Alembic reads this package's metadata."""

from services.core.models.api_key import ApiKey
from services.core.models.attribution import Attribution
from services.core.models.audit import AuditEntry
from services.core.models.base import NAMING_CONVENTION, TableBase, metadata
from services.core.models.behind_schedule import BehindScheduleNotice
from services.core.models.callback import CallbackAttempt, CallbackCase, CallbackSettings
from services.core.models.callback_routing import CallbackRoutingRule
from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.contract import Contract, ContractHolder, ContractLot
from services.core.models.eligibility import EligibilityCriterion
from services.core.models.geo import Commune, PostalCode, Qpv
from services.core.models.idempotency import IdempotencyRecord
from services.core.models.intake import Intake, IntakeFile
from services.core.models.match import Match, MatchTransition
from services.core.models.match_profile import MatchProfile, MatchProfilePending, MatchSuggestion
from services.core.models.notification import (
    Notification,
    NotificationContact,
    NotificationPreference,
    WebhookDelivery,
    WebhookSubscription,
)
from services.core.models.obligation import Obligation, ObligationDeclaration
from services.core.models.offer import Offer
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.outbox import FailedEvent, OutboxEvent, ProcessedEvent
from services.core.models.outcome import PlacementOutcome
from services.core.models.placement import Placement, StatementLine
from services.core.models.progress_indexes import STATEMENT_LINE_PROGRESS
from services.core.models.reference_dataset import ReferenceDataset
from services.core.models.referentials import (
    RomeAppellation,
    RomeDomaine,
    RomeFiche,
    RomeGrandDomaine,
)
from services.core.models.user import Permission, RefreshToken, Role, User

__all__ = [
    "NAMING_CONVENTION",
    "STATEMENT_LINE_PROGRESS",
    "ApiKey",
    "Attribution",
    "AuditEntry",
    "BehindScheduleNotice",
    "CallbackAttempt",
    "CallbackCase",
    "CallbackRoutingRule",
    "CallbackSettings",
    "Candidate",
    "CandidateShare",
    "Commune",
    "Contract",
    "ContractHolder",
    "ContractLot",
    "EligibilityCriterion",
    "FailedEvent",
    "IdempotencyRecord",
    "Intake",
    "IntakeFile",
    "Match",
    "MatchProfile",
    "MatchProfilePending",
    "MatchSuggestion",
    "MatchTransition",
    "Notification",
    "NotificationContact",
    "NotificationPreference",
    "Obligation",
    "ObligationDeclaration",
    "Offer",
    "Organisation",
    "OrganisationKind",
    "OutboxEvent",
    "Permission",
    "Placement",
    "PlacementOutcome",
    "PostalCode",
    "ProcessedEvent",
    "Qpv",
    "ReferenceDataset",
    "RefreshToken",
    "Role",
    "RomeAppellation",
    "RomeDomaine",
    "RomeFiche",
    "RomeGrandDomaine",
    "StatementLine",
    "TableBase",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "metadata",
]
