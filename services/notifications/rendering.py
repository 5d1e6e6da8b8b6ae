"""French messages from the jinja2 templates in ``templates/``.

Templates are plain text (no HTML, no autoescape); they get the alert's context (ids, a case
reference, days left, a link: never a name or a phone number) and ``label`` (the kind's French
label, :func:`services.core.alerts.kinds.label`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader

from services.core.alerts.kinds import label
from services.core.models.notification import NotificationChannel

__all__ = ["Rendered", "enrich", "label", "render"]


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


def enrich(context: Mapping[str, Any], link_base_url: str = "") -> dict[str, Any]:
    """The context with what templates derive: a short case reference from ``case_id`` and a
    full link from ``case_path`` when the raiser gave only those."""
    values = dict(context)
    case_id = values.get("case_id")
    if not values.get("case_reference") and case_id:
        values["case_reference"] = str(case_id).replace("-", "")[-8:].upper()
    path = values.get("case_path")
    if not values.get("url") and path and link_base_url:
        values["url"] = link_base_url.rstrip("/") + str(path)
    return values


def render(
    kind: str,
    channel: NotificationChannel,
    context: Mapping[str, Any],
    link_base_url: str = "",
) -> Rendered:
    env = _environment()
    values = {"label": label(kind), **enrich(context, link_base_url)}
    if isinstance(values.get("items"), list):
        values["items"] = [enrich(item, link_base_url) for item in values["items"]]
    subject = " ".join(env.get_template(f"{kind}.subject.j2").render(values).split())
    body = env.get_template(f"{kind}.{channel.value}.j2").render(values).strip() + "\n"
    if channel is NotificationChannel.SMS:
        body = " ".join(body.split())
    return Rendered(subject=subject, body=body)
