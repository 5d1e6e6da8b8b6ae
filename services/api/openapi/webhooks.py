"""The OpenAPI 3.1 ``webhooks`` section: one entry per event type a subscription may choose, its
body's schema and an example, read from the event classes themselves (decision 0083)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from services.core.events import EVENT_TYPES, Event
from services.core.webhooks import PAYLOAD_VERSION, PUBLIC_EVENTS, body_of

# What each member of an event's data names (the same words as the API's resources).
FIELD_DESCRIPTIONS: dict[str, str] = {
    "offer_id": "Identifiant de l'offre (`GET /v1/offers/{offer_id}`).",
    "candidate_id": "Identifiant du candidat (`GET /v1/candidates/{candidate_id}`).",
    "match_id": "Identifiant de la mise en relation (`GET /v1/matches/{match_id}`).",
    "callback_id": "Identifiant du dossier de rappel (`GET /v1/callbacks/{callback_id}`).",
    "matches": "Les paires candidat–offre suggérées que l'abonnement peut lire (au moins une).",
    "contract_id": "Identifiant du marché (`GET /v1/contracts/{contract_id}`).",
    "period_start": "Premier jour du trimestre civil où le retard a été constaté.",
    "lot_ids": "Les lots en retard (vide : le marché dans son ensemble, ou un marché sans lots).",
}

_WHEN: dict[str, str] = {
    "offer.published": "Une offre vient d'être publiée : elle est ouverte aux candidatures.",
    "offer.closed": "Une offre a été clôturée (pourvue, annulée ou expirée).",
    "match.suggested": (
        "Le classement a trouvé de nouveaux candidats pour des offres ouvertes. Seules les paires "
        "dont l'abonnement peut lire la personne sont envoyées (décision 0041)."
    ),
    "callback.overdue": (
        "Le délai de 30 jours pour rappeler une personne est dépassé sans qu'elle ait été jointe."
    ),
    "candidate.placed": "Un candidat a été recruté sur une offre.",
    "contract.behind_schedule": (
        "Les heures d'insertion comptées d'un marché (ou d'un de ses lots) sont en retard sur le "
        "rythme attendu : une fois par marché et par trimestre (décisions 0078, 0081)."
    ),
}

_HEADERS = [
    (
        "webhook-id",
        "Identifiant du message (`msg_…`), le même à chaque nouvel essai : dédoublonner avec.",
    ),
    ("webhook-timestamp", "Heure de l'envoi, en secondes depuis le 1er janvier 1970 (UTC)."),
    (
        "webhook-signature",
        "`v1,` suivi du HMAC-SHA256 en base64 de `webhook-id.webhook-timestamp.corps`, calculé "
        "avec le secret de l'abonnement (Standard Webhooks).",
    ),
]

_EXAMPLE_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _schema_name(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.split(".")) + "Webhook"


def _example_of(model: type[Event]) -> dict[str, Any]:
    """A body as sent, built by the code that sends it, with fixed ids."""
    counter = iter(range(1, 1000))

    def fake(annotation_schema: dict[str, Any]) -> Any:
        if annotation_schema.get("format") == "uuid":
            return str(uuid.UUID(int=0x0190_0000_0000_7000_8000_0000_0000_0000 + next(counter)))
        if annotation_schema.get("format") == "date":
            return _EXAMPLE_AT.date().replace(day=1).isoformat()
        raise ValueError(annotation_schema)

    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})

    def value_of(property_schema: dict[str, Any]) -> Any:
        if "$ref" in property_schema:
            target = definitions[property_schema["$ref"].rsplit("/", 1)[-1]]
            return {name: value_of(p) for name, p in target["properties"].items()}
        if property_schema.get("type") == "array":
            return [value_of(property_schema.get("items", {}))]
        if property_schema.get("type") == "boolean":
            return property_schema.get("default", False)
        return fake(property_schema)

    data = {
        name: value_of(p)
        for name, p in schema["properties"].items()
        if name not in model.internal_fields
    }
    body: dict[str, Any] = json.loads(body_of(model.model_validate(data), _EXAMPLE_AT))
    return body


def _described(schema: dict[str, Any]) -> dict[str, Any]:
    for name, property_schema in schema.get("properties", {}).items():
        property_schema.pop("title", None)
        if name in FIELD_DESCRIPTIONS:
            property_schema["description"] = FIELD_DESCRIPTIONS[name]
    return schema


def declare_webhooks(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    webhooks: dict[str, Any] = {}
    for event_type, label in PUBLIC_EVENTS.items():
        model = EVENT_TYPES[event_type]
        data = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in data.pop("$defs", {}).items():
            definition.pop("title", None)
            components.setdefault(name, _described(definition))
        for internal in model.internal_fields:
            data["properties"].pop(internal, None)
        data["required"] = [n for n in data.get("required", []) if n not in model.internal_fields]
        data.pop("title", None)
        data["description"] = "Les identifiants de ce dont parle l'événement."
        name = _schema_name(event_type)
        components[name] = {
            "type": "object",
            "description": f"Corps d'un webhook `{event_type}` ({label}).",
            "properties": {
                "version": {
                    "type": "integer",
                    "const": PAYLOAD_VERSION,
                    "description": "Version du format du corps : augmentée seulement quand un "
                    "changement peut casser un destinataire (un membre retiré, renommé ou "
                    "changeant de sens) ; un membre ajouté ne la change pas.",
                },
                "type": {
                    "type": "string",
                    "const": event_type,
                    "description": "Type d'événement.",
                },
                "timestamp": {
                    "type": "string",
                    "format": "date-time",
                    "description": "Moment de l'événement (UTC).",
                },
                "data": _described(data),
            },
            "required": ["version", "type", "timestamp", "data"],
        }
        webhooks[event_type] = {
            "post": {
                "summary": label,
                "description": _WHEN.get(event_type, label)
                + "\n\nRépondre 2xx dans le délai accordé ; sinon l'envoi est réessayé, avec "
                "le même `webhook-id`, puis l'abonnement est désactivé s'il échoue trop "
                "longtemps.",
                "operationId": "webhook_" + event_type.replace(".", "_"),
                "tags": ["webhooks"],
                "parameters": [
                    {
                        "name": header,
                        "in": "header",
                        "required": True,
                        "description": text,
                        "schema": {"type": "string"},
                    }
                    for header, text in _HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{name}"},
                            "example": _example_of(model),
                        }
                    },
                },
                "responses": {
                    "2XX": {"description": "Reçu : l'envoi est considéré comme livré."},
                },
            }
        }
    schema["webhooks"] = webhooks
