"""French messages from the jinja2 templates in ``templates/``.

Templates are plain text (no HTML, no autoescape); they get the alert's context (ids, a case
reference, days left, a link: never a name or a phone number) and ``label``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader

from services.core.models.notification import DIGEST_KIND, NotificationChannel
from services.notifications.alerts import ALERT_KIND_LABELS, AlertKind


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Plain-text messages (e-mail text/plain, SMS): nothing is HTML, nothing to escape.
    return Environment(
        loader=PackageLoader("services.notifications", "templates"),
        autoescape=False,  # noqa: S701
        keep_trailing_newline=False,
        trim_blocks=False,
    )


def label(kind: str) -> str:
    try:
        return ALERT_KIND_LABELS[AlertKind(kind)]
    except ValueError:
        return "Récapitulatif" if kind == DIGEST_KIND else kind


def render(kind: str, channel: NotificationChannel, context: Mapping[str, Any]) -> Rendered:
    env = _environment()
    values = {"label": label(kind), **context}
    subject = " ".join(env.get_template(f"{kind}.subject.j2").render(values).split())
    body = env.get_template(f"{kind}.{channel.value}.j2").render(values).strip() + "\n"
    if channel is NotificationChannel.SMS:
        body = " ".join(body.split())
    return Rendered(subject=subject, body=body)
