"""A typed client generated from the document, imported and type-checked: a schema shape the
generators cannot turn into code (or into code that type-checks) fails here, not in a frontend
team's build."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mypy import api as mypy_api

from services.api.app import create_app
from services.core.settings import Settings
from tests.api.conftest import UNREACHABLE_POSTGRES, UNREACHABLE_REDIS

pytestmark = pytest.mark.slow

PACKAGE = "maillon_client"
FILE_TYPES = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
)


def test_a_generated_python_client_imports_and_type_checks(tmp_path: Path) -> None:
    settings = Settings(
        environment="test", database_url=UNREACHABLE_POSTGRES, redis_url=UNREACHABLE_REDIS
    )
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(create_app(settings).openapi()))
    config = tmp_path / "config.json"
    # Files (CVs, scanned forms, hours statements as XLSX or CSV) are read and sent as bytes.
    files = dict.fromkeys(FILE_TYPES, "application/octet-stream")
    config.write_text(
        json.dumps({"package_name_override": PACKAGE, "content_type_overrides": files})
    )
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        cwd=tmp_path,
        # The generator formats its code with ruff, from this environment.
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    package = tmp_path / PACKAGE
    assert (package / "client.py").is_file()

    sys.path.insert(0, str(tmp_path))
    try:
        client = importlib.import_module(f"{PACKAGE}.client")
        offers = importlib.import_module(f"{PACKAGE}.api.offres.list_offers_v1_offers_get")
    finally:
        sys.path.remove(str(tmp_path))
    assert client.AuthenticatedClient(base_url="http://127.0.0.1:8000", token="jeton")
    assert callable(offers.sync_detailed)

    # The generated package alone, strict, none of the project's settings. The generator's own
    # client template (the same for every document) forwards ``*args`` to httpx's ``__exit__``.
    (tmp_path / "mypy.ini").write_text(
        f"[mypy]\n[mypy-{PACKAGE}.client]\ndisable_error_code = arg-type\n"
    )
    report, errors, status = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--config-file",
            str(tmp_path / "mypy.ini"),
            str(package),
        ]
    )
    assert status == 0, report + errors
