"""A created resource's ``Location`` is its route's path, as ``url_for`` gives it."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from starlette.requests import Request

from services.api.locations import location


def _request(app: FastAPI, root_path: str = "") -> Request:
    scope = {"type": "http", "app": app, "router": app.router, "root_path": root_path}
    scope.update(scheme="http", server=("testserver", 80), path="/", headers=[])
    return Request(scope)


def test_the_path_is_url_fors_for_each_id_and_prefix(app: FastAPI) -> None:
    for root_path in ("", "/maillon"):
        request = _request(app, root_path)
        for route, name in (
            ("read_intake", "intake_id"),
            ("read_candidate", "candidate_id"),
            ("read_offer", "offer_id"),
            ("read_organisation", "organisation_id"),
        ):
            for _ in range(2):  # the second time from the kept template
                value = uuid.uuid4()
                expected = request.url_for(route, **{name: value}).path
                assert location(request, route, **{name: value}) == expected
                assert str(value) in expected and expected.startswith(f"{root_path}/v1/")
