"""``Location`` of a created resource: its route's path worked out once per app, then filled in.

``request.url_for`` tries every route of the app in turn, each through FastAPI's included
routers: about a twentieth of the API's time on a borne intake. A route's path does not change
while the app runs.
"""

from __future__ import annotations

import uuid

from fastapi import Request


def location(request: Request, route: str, **ids: uuid.UUID) -> str:
    """The path of ``route`` with ``ids`` as its parameters (as ``request.url_for(…).path``)."""
    names = tuple(sorted(ids))
    key = (route, names, request.scope.get("root_path", ""))
    templates: dict[tuple[str, tuple[str, ...], str], str] | None = getattr(
        request.app.state, "location_templates", None
    )
    if templates is None:
        templates = request.app.state.location_templates = {}
    template = templates.get(key)
    if template is None:
        # Distinct stand-in ids, found back in the path and replaced by the parameters' names.
        stand_ins = {name: uuid.UUID(int=index + 1) for index, name in enumerate(names)}
        template = request.url_for(route, **stand_ins).path
        for name, stand_in in stand_ins.items():
            template = template.replace(str(stand_in), "{" + name + "}")
        templates[key] = template
    return template.format_map({name: str(value) for name, value in ids.items()})
