"""French templates: every alert kind renders by every channel; SMS are GSM-7 and one segment."""

from __future__ import annotations

import uuid

import pytest

from services.core.alerts.kinds import AlertKind
from services.core.models.notification import (
    DIGEST_KIND,
    WEBHOOK_DISABLED_KIND,
    NotificationChannel,
)
from services.notifications.channels.gsm7 import is_gsm7, segments, septets, to_gsm7
from services.notifications.channels.sms import SmsTooLong, sms_text
from services.notifications.rendering import render

CASE_ID = uuid.UUID("01a2055a-18f4-7370-ac14-2ff79e903c66")
# What the callbacks domain gives (services/core/callbacks/cases.alert_context), at its longest.
CALLBACK_CONTEXT: dict[str, str | int | None] = {
    "case_id": str(CASE_ID),
    "case_path": f"/v1/callbacks/{CASE_ID}",
    "deposit_date": "02/03/2026",
    "due_date": "01/04/2026",
    "days_left": -123,
    "attempt_count": 2,
    "attempt_number": 3,
}
MATCH_CONTEXT: dict[str, str | int | None] = {
    "offer_id": str(uuid.uuid4()),
    "offer_title": "Maçon ou maçonne en rénovation — chantier du quartier des Francs-Moisins",
    "rank": 10,
    "url": "https://maillon.example.org/offres/1/correspondances",
}


def _context(kind: str) -> dict[str, object]:
    if kind == AlertKind.MATCH_SUGGESTED.value:
        return dict(MATCH_CONTEXT)
    if kind == DIGEST_KIND:
        return {"items": [{"label": "Relance", **CALLBACK_CONTEXT}] * 12}
    if kind == WEBHOOK_DISABLED_KIND:
        return {"subscription_id": str(uuid.uuid4()), "url": "https://sirh.exemple.fr/hook"}
    return dict(CALLBACK_CONTEXT)


KINDS = [*(k.value for k in AlertKind), DIGEST_KIND, WEBHOOK_DISABLED_KIND]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("channel", list(NotificationChannel))
def test_every_kind_renders_by_every_channel(kind: str, channel: NotificationChannel) -> None:
    rendered = render(kind, channel, _context(kind), "https://maillon.example.org")
    assert rendered.subject.startswith("Maillon — ")
    for text in (rendered.subject, rendered.body):
        assert "None" not in text and "{{" not in text and "{%" not in text
    if channel is NotificationChannel.SMS:
        text = sms_text(rendered.body, max_segments=1)
        assert is_gsm7(text) and segments(text) == 1
    else:
        assert rendered.body.startswith("Bonjour,")


def test_callback_email_derives_the_reference_and_the_link() -> None:
    rendered = render(
        AlertKind.CALLBACK_FOLLOW_UP.value,
        NotificationChannel.EMAIL,
        {**CALLBACK_CONTEXT, "days_left": 12},
        "https://maillon.example.org/",
    )
    assert rendered.subject == ("Maillon — nouvelle tentative de rappel à faire (9E903C66)")
    assert (
        "Dossier de rappel 9E903C66 — 12 jours restants "
        "(dépôt du 02/03/2026, échéance le 01/04/2026)"
    ) in rendered.body
    assert "Tentative à faire : n° 3 sur 3." in rendered.body
    assert f"https://maillon.example.org/v1/callbacks/{CASE_ID}" in rendered.body


def test_overdue_days_are_told_as_such() -> None:
    body = render(
        AlertKind.CALLBACK_OVERDUE.value,
        NotificationChannel.EMAIL,
        {"case_reference": "R-1", "days_left": -2},
    ).body
    assert "Dossier de rappel R-1 — délai dépassé de 2 jours" in body
    assert "obligatoire" in body


def test_gsm7_keeps_french_letters_it_has_and_simplifies_the_others() -> None:
    assert to_gsm7("déjà là, où, Noël") == "déjà là, où, Noel"
    assert to_gsm7("être « prêt » – ça coûte 5 €…") == 'etre " pret " - Ça coute 5 €...'
    assert to_gsm7("emoji 🙂") == "emoji ?"
    assert septets("[€]") == 6
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    with pytest.raises(SmsTooLong):
        sms_text("a" * 400, max_segments=2)
