"""What a request may say of where a person lives (a candidate, a borne form, an import line):
the fields, their checks and their French texts (decisions 0013 and 0047)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from services.api.validation import InvalidValue, NotBoolean

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False), NotBoolean]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False), NotBoolean]
_QPV_CODE = re.compile(r"^Q[A-Z]\d{5}[A-Z]?$")


def _qpv_code(value: str) -> str:
    code = value.strip().upper()
    if not _QPV_CODE.match(code):
        raise InvalidValue("code QPV invalide (une lettre Q, une lettre, 5 chiffres, ex. QN07511M)")
    return code


# Its shape here; whether the quartier exists, against the QPV referential by the caller.
QpvCode = Annotated[
    str,
    Field(max_length=10, description="Code d'un quartier prioritaire (QPV 2024), ex. QN07511M."),
    AfterValidator(_qpv_code),
]

QPV_DECLARED = (
    "La personne déclare résider (`true`) ou non (`false`) dans un quartier prioritaire. Une "
    "déclaration est enregistrée pour être vérifiée (méthode `declared` tant qu'aucun point ne "
    "décide) ; elle ne vaut jamais résidence en QPV (statut `unknown`)."
)
QPV_DECLARED_CODE = (
    "Le quartier prioritaire que la personne déclare habiter, vérifié dans le référentiel des "
    "QPV ; implique `qpv_declared: true`."
)
UNDECLARED_CODE = "un code QPV déclaré suppose qpv_declared à true"
UNPAIRED = "longitude et latitude vont ensemble"
