"""Public representations of reference data.

Each answer credits its publisher (``source``), as the open-data licences and
``data/README.md`` ask.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.api.pagination import Page
from services.core.referentials.sectors import SectorCode

ROME_SOURCE = "France Travail – ROME"
QPV_SOURCE = "ANCT"
COMMUNES_SOURCE = "INSEE (communes), La Poste (codes postaux), ANCT (QPV)"


class CodeLabel(BaseModel):
    code: str = Field(description="Code.")
    label: str = Field(description="Libellé.")


class RomeFicheSummary(BaseModel):
    code: str = Field(description="Code de la fiche ROME, par exemple F1703.")
    label: str = Field(description="Intitulé de la fiche.")
    domaine: CodeLabel | None = Field(description="Domaine professionnel (F17).")
    grand_domaine: CodeLabel | None = Field(description="Grand domaine (F).")
    sector: SectorCode | None = Field(
        description="Secteur de la borne couvrant ce code ROME ; null hors des huit secteurs."
    )
    sector_label: str | None = Field(description="Libellé du secteur, tel qu'imprimé.")


class RomeFicheMatch(RomeFicheSummary):
    matched_appellations: list[CodeLabel] = Field(
        description="Quelques appellations correspondant à la recherche (au plus 5)."
    )


class RomeFichePage(Page[RomeFicheMatch]):
    source: str = Field(default=ROME_SOURCE, description="Source des données.")
    edition: str | None = Field(default=None, description="Version du référentiel (v460).")


class RomeFicheDetail(RomeFicheSummary):
    parent_code: str | None = Field(description="Code ROME historique dont la fiche dérive.")
    appellations: list[CodeLabel] = Field(
        description="Les appellations (intitulés de métier) de la fiche."
    )
    source: str = Field(default=ROME_SOURCE, description="Source des données.")
    edition: str | None = Field(
        default=None, description="Édition (version) des données importées."
    )


class SectorPrefix(BaseModel):
    prefix: str = Field(description="Préfixe ROME : grand domaine (F) ou domaine (N11, N2…).")
    grand_domaine: CodeLabel | None = Field(description="Grand domaine ROME (lettre) du préfixe.")
    domaines: list[CodeLabel] = Field(description="Domaines professionnels couverts.")


class Sector(BaseModel):
    code: SectorCode = Field(description="Code du secteur, tel que sur le formulaire de la borne.")
    label: str = Field(description="Libellé exact du formulaire de la borne.")
    rome_prefixes: list[SectorPrefix] = Field(
        description="Les parties du ROME que le secteur couvre."
    )


class SectorDetail(Sector):
    source: str = Field(default=ROME_SOURCE, description="Source des données.")
    edition: str | None = Field(
        default=None, description="Édition (version) des données importées."
    )


class SectorPage(Page[Sector]):
    source: str = Field(default=ROME_SOURCE, description="Source des données.")
    edition: str | None = Field(
        default=None, description="Édition (version) des données importées."
    )


class Commune(BaseModel):
    insee: str = Field(description="Code officiel géographique (INSEE).")
    name: str = Field(description="Nom de la commune.")
    dept: str = Field(description="Code du département.")
    postal_codes: list[str] = Field(description="Codes postaux, le principal en premier.")
    lon: float = Field(description="Longitude du centre (WGS 84).")
    lat: float = Field(description="Latitude du centre (WGS 84).")
    hosts_qpv: bool | None = Field(
        description="La commune accueille au moins un QPV ; null si le référentiel QPV "
        "n'est pas chargé."
    )


class CommunePage(Page[Commune]):
    source: str = Field(default=COMMUNES_SOURCE, description="Source des données.")


class CommuneDetail(Commune):
    source: str = Field(default=COMMUNES_SOURCE, description="Source des données.")


class QpvRef(BaseModel):
    code: str = Field(description="Code du quartier prioritaire (QN…).")
    name: str = Field(description="Nom du quartier.")


class QpvLookup(BaseModel):
    status: Literal["in_qpv", "outside_qpv"] = Field(
        description=("`in_qpv` : le point est dans un quartier prioritaire ; `outside_qpv` sinon.")
    )
    qpv: QpvRef | None = Field(description="Le quartier contenant le point ; null hors QPV.")
    near_boundary: bool = Field(
        description="Le point est à moins de 15 m d'une limite de QPV : les contours publiés "
        "sont arrondis (~11 m), l'outil d'adresse de l'ANCT fait foi."
    )
    distance_to_boundary_m: float | None = Field(
        description="Distance à la limite de QPV la plus proche, en mètres (dans un QPV, ou "
        "hors QPV à moins de 15 m d'une limite) ; null sinon."
    )
    nearest_qpv_code: str | None = Field(
        description="Hors QPV près d'une limite : le quartier voisin."
    )
    polygon_version: str = Field(description="Version des contours (empreinte des fichiers).")
    polygon_edition: str | None = Field(description="Géographie des QPV (2024).")
    source: str = Field(default=QPV_SOURCE, description="Source des données.")
