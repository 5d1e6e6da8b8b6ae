"""Examples of the hours statements' request bodies for the OpenAPI document: one line, a batch,
and the filled template as the import reads it (decision 0077)."""

from __future__ import annotations

from typing import Any

STATEMENT_EXAMPLES: dict[str, Any] = {
    "line": {
        "summary": "Une ligne : les heures d'octobre d'une mise en emploi",
        "value": {
            "placement_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0e41",
            "month": "2026-10",
            "hours_worked": "151.67",
            "training_hours": "14",
        },
    },
    "batch": {
        "summary": "Un lot : plusieurs mises en emploi ou plusieurs mois",
        "value": {
            "lines": [
                {
                    "placement_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0e41",
                    "month": "2026-11",
                    "hours_worked": "140",
                },
                {
                    "placement_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0e42",
                    "month": "2026-11",
                    "hours_worked": "98.5",
                    "training_hours": "7",
                },
            ]
        },
    },
}

TEMPLATE_XLSX_EXAMPLES: dict[str, Any] = {
    "template": {
        "summary": "Le modèle XLSX, rempli",
        "description": "Les octets du classeur téléchargé avec `format=xlsx`, colonnes « Heures "
        "travaillées » et « Dont heures de formation » remplies, envoyés tels quels.",
        "value": "(contenu binaire du classeur XLSX)",
    }
}

# The template as it is written (``;``, CRLF, dates JJ/MM/AAAA), filled with a decimal comma.
TEMPLATE_CSV_EXAMPLE = (
    "Identifiant de la mise en emploi;Participant;Début;Fin;Mois (AAAA-MM);Heures travaillées;"
    "Dont heures de formation\r\n"
    "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0e41;Martin Léa;02/03/2026;;2026-11;140;\r\n"
    "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0e42;Diallo Moussa;14/09/2026;18/12/2026;2026-11;98,5;7\r\n"
)
