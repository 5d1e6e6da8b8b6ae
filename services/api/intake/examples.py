"""Examples of the intakes' request bodies for the OpenAPI document: one form in JSON, the same
with its files in ``multipart/form-data``, a CV left alone, a week's box. The people are made up
(the phone number is the one the form's own help text gives as an example)."""

from __future__ import annotations

from typing import Any

FORM_EXAMPLE: dict[str, Any] = {
    "last_name": "EXEMPLE",
    "first_name": "Camille",
    "mobile_phone": "06 12 34 56 78",
    "email": "camille.exemple@exemple.fr",
    "city": "Saint-Denis",
    "commune_insee": "93066",
    "sectors_worked": ["cleaning"],
    "sectors_wanted": ["construction", "logistics"],
    "sectors_wanted_other": "Cariste",
    "needs": ["job", "training"],
    "qpv_declared": True,
    "consent": True,
    "consent_text_version": "borne-2026-01",
    "source": "kiosk",
    "place_organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b07",
    "collected_on": "2026-03-09",
    "deposit_date": "2026-03-04",
}

# In multipart/form-data every value is text, a list is a repeated field, and a file field's
# value stands for the file's bytes.
MULTIPART_EXAMPLES: dict[str, Any] = {
    "formulaire-et-fichiers": {
        "summary": "Le formulaire saisi, avec le CV et le formulaire numérisé",
        "value": {
            "last_name": "EXEMPLE",
            "first_name": "Camille",
            "mobile_phone": "06 12 34 56 78",
            "city": "Saint-Denis",
            "commune_insee": "93066",
            "sectors_wanted": ["construction", "logistics"],
            "needs": ["job"],
            "consent": "true",
            "consent_text_version": "borne-2026-01",
            "deposit_date": "2026-03-04",
            "cv": "(contenu du fichier PDF)",
            "form_scan": "(contenu du fichier JPEG)",
        },
    },
    "cv-seul": {
        "summary": "Un CV déposé seul : la personne est à identifier d'après le CV",
        "value": {
            "consent": "true",
            "consent_text_version": "borne-2026-01",
            "cv": "(contenu du fichier PDF)",
        },
    },
}

BATCH_EXAMPLE: dict[str, Any] = {
    "source": "kiosk",
    "place_organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b07",
    "collected_on": "2026-03-09",
    "forms": [
        {
            "last_name": "EXEMPLE",
            "first_name": "Camille",
            "mobile_phone": "06 12 34 56 78",
            "commune_insee": "93066",
            "sectors_wanted": ["construction"],
            "needs": ["job"],
            "consent": True,
            "consent_text_version": "borne-2026-01",
            "deposit_date": "2026-03-04",
        },
        {
            "last_name": "EXEMPLE",
            "first_name": "Dominique",
            "email": "dominique.exemple@exemple.fr",
            "city": "Saint-Ouen",
            "sectors_worked": ["hospitality"],
            "sectors_wanted": ["hospitality", "cleaning"],
            "needs": ["job", "support"],
            "consent": True,
            "consent_text_version": "borne-2026-01",
        },
    ],
}
