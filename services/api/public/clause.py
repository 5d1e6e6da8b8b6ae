"""The clause behind a public offer, told in words a job seeker understands.

Built from the contract's public facts only (its clause kind, its object, the buyer's name, NPNRU
and QPV priority) and the offer's eligibility requirement: never a person, a note or a contact.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.core.models.contract import ClauseKind, QpvPriority

_KIND: dict[ClauseKind, str] = {
    ClauseKind.EXECUTION: (
        "Poste ouvert dans le cadre d'une clause sociale d'insertion d'un marché public : "
        "l'entreprise qui réalise ce marché s'est engagée à confier une partie des heures de "
        "travail à des personnes éloignées de l'emploi."
    ),
    ClauseKind.RESERVED_SIAE: (
        "Poste ouvert dans une structure d'insertion par l'activité économique, sur un marché "
        "public qui leur est réservé : l'emploi s'accompagne d'un suivi pour construire la suite "
        "de votre parcours."
    ),
    ClauseKind.RESERVED_DISABILITY: (
        "Poste ouvert dans une entreprise adaptée ou un établissement d'aide par le travail, sur "
        "un marché public réservé aux structures qui emploient des personnes en situation de "
        "handicap."
    ),
    ClauseKind.AWARD_CRITERION: (
        "Poste ouvert dans le cadre d'un marché public attribué notamment sur l'engagement de "
        "l'entreprise à recruter des personnes éloignées de l'emploi."
    ),
    ClauseKind.INSERTION_MARKET: (
        "Poste ouvert dans le cadre d'un marché public dont le but même est de remettre en "
        "emploi des personnes qui en sont éloignées, avec un accompagnement."
    ),
}

_ELIGIBILITY = (
    "Ce poste est réservé aux personnes pour qui l'emploi est difficile d'accès (par exemple "
    "inscrites depuis longtemps comme demandeuses d'emploi, bénéficiaires du RSA, jeunes de moins "
    "de 26 ans peu qualifiés, personnes reconnues travailleuses handicapées) : votre conseiller "
    "ou conseillère vous dira si c'est votre cas."
)
_NPNRU = (
    "Le marché fait partie de la rénovation urbaine d'un quartier (NPNRU) : les habitantes et "
    "habitants des quartiers prioritaires sont recrutés en priorité."
)
_QPV_PREFERRED = "Les habitantes et habitants des quartiers prioritaires sont recrutés en priorité."
_QPV_REQUIRED = "Le poste est réservé aux habitantes et habitants des quartiers prioritaires."
_NO_CONTRACT = "Poste proposé par un employeur partenaire du dispositif d'insertion du territoire."
HOW_TO_APPLY = (
    "Pour postuler, adressez-vous à votre conseiller ou conseillère emploi (France Travail, "
    "Mission locale, Cap emploi, PLIE…) en citant l'intitulé du poste et l'employeur."
)


@dataclass(frozen=True)
class ClauseFacts:
    """What is public about the clause an offer comes from (``kind`` None: no contract)."""

    kind: ClauseKind | None
    contract_title: str | None = None
    buyer_name: str | None = None
    is_npnru: bool = False
    qpv_priority: QpvPriority = QpvPriority.NONE
    requires_eligibility: bool = False


def clause_context(facts: ClauseFacts) -> str:
    """A few sentences: why this job exists, who it is meant for, how to apply."""
    sentences = [_KIND[facts.kind] if facts.kind is not None else _NO_CONTRACT]
    if facts.kind is not None and facts.contract_title:
        buyer = f", pour {facts.buyer_name}" if facts.buyer_name else ""
        sentences.append(f"Marché : « {facts.contract_title} »{buyer}.")
    if facts.requires_eligibility:
        sentences.append(_ELIGIBILITY)
    if facts.qpv_priority == QpvPriority.REQUIRED:
        sentences.append(_QPV_REQUIRED)
    elif facts.is_npnru:
        sentences.append(_NPNRU)
    elif facts.qpv_priority == QpvPriority.PREFERRED:
        sentences.append(_QPV_PREFERRED)
    return " ".join(sentences)
