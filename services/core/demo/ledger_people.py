"""The demo ledger's participants and their placements (see :mod:`services.core.demo.ledger`):
fictional people, already at work (not the borne people of the intake demo)."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.models.candidate import Sex
from services.core.models.eligibility import EligibilityKind
from services.core.models.obligation import Modality
from services.core.models.offer import ContractType


@dataclass(frozen=True)
class Participant:
    first_name: str
    last_name: str
    sex: Sex
    birth_year: int
    in_qpv: bool
    criterion: EligibilityKind | None


@dataclass(frozen=True)
class Spec:
    """A placement: who, on which attribution (key), employed by whom, how, from which month
    (months before the current one), monthly hours, and an end (months before) if it ended."""

    participant: Participant
    attribution: str
    employer: str
    modality: Modality
    contract_type: ContractType
    rome: str
    from_month: int
    hours: int
    ended_month: int | None = None


def _p(first: str, last: str, sex: Sex, year: int, qpv: bool, kind: str | None) -> Participant:
    return Participant(first, last, sex, year, qpv, EligibilityKind(kind) if kind else None)


F, M = Sex.FEMALE, Sex.MALE
SPECS: tuple[Spec, ...] = (
    # Lot 1, Bâtir Ensemble: three direct hires from the start (one CDI).
    Spec(_p("Moussa", "Sow", M, 1999, True, "JEUNE"), "school-1", "builder",
         Modality.DIRECT_HIRE, ContractType.CDDI, "F1703", 6, 120),
    Spec(_p("Inès", "Hamdi", F, 1988, True, "RSA"), "school-1", "builder",
         Modality.DIRECT_HIRE, ContractType.CDI, "F1703", 6, 130),
    Spec(_p("Jordan", "Girard", M, 1971, False, "DELD"), "school-1", "builder",
         Modality.DIRECT_HIRE, ContractType.CDD, "F1704", 6, 110),
    # Lot 1, the subcontracting ACI (its hours count in Bâtir Ensemble's total).
    Spec(_p("Fatoumata", "Keita", F, 2001, True, "JEUNE"), "school-aci", "aci",
         Modality.SUBCONTRACTING, ContractType.CDDI, "F1704", 6, 80),
    Spec(_p("Rachid", "Ouali", M, 1975, True, "DETLD"), "school-aci", "aci",
         Modality.SUBCONTRACTING, ContractType.CDDI, "F1704", 6, 80),
    Spec(_p("Sandrine", "Morel", F, 1983, False, "RSA"), "school-aci", "aci",
         Modality.SUBCONTRACTING, ContractType.CDDI, "F1704", 6, 70, ended_month=3),
    # Lot 2, Menuiseries du Landy: started two months ago, one hire and two provided by the ETTI.
    Spec(_p("Kevin", "Nguyen", M, 2003, False, "JEUNE"), "school-2", "joinery",
         Modality.DIRECT_HIRE, ContractType.CDD, "F1607", 2, 20),
    Spec(_p("Awa", "Koné", F, 1994, True, "RSA"), "school-2", "etti",
         Modality.PROVISION, ContractType.MIS, "F1607", 2, 20),
    Spec(_p("Samir", "Haddad", M, 1968, True, None), "school-2", "etti",
         Modality.PROVISION, ContractType.MIS, "F1607", 2, 20),
    # Propreté et GUP (no lots), Net'Services 93.
    Spec(_p("Mariama", "Sylla", F, 1990, True, "RSA"), "cleaning", "cleaner",
         Modality.DIRECT_HIRE, ContractType.CDDI, "K2204", 6, 90),
    Spec(_p("Lucie", "Roux", F, 1997, False, "DELD"), "cleaning", "cleaner",
         Modality.DIRECT_HIRE, ContractType.CDD, "K2204", 6, 90),
    Spec(_p("Omar", "Belkacem", M, 1986, True, "TH"), "cleaning", "cleaner",
         Modality.DIRECT_HIRE, ContractType.CDI, "K2204", 6, 90),
)  # fmt: skip
