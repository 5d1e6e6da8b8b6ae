"""E-mail over STARTTLS with credentials, and over implicit TLS, against a real SMTP server with
a certificate made for the test (trusted through ``MAILLON_SMTP_CA_FILE``)."""

from __future__ import annotations

import ssl
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from services.core.settings import Settings
from services.notifications.channels import OutgoingMessage, TemporaryFailure
from services.notifications.channels.smtp import EmailChannel
from tests.notifications.servers import SmtpSink, smtp_server

USER, PASSWORD = "maillon", "mot-de-passe-du-relais"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


def message() -> OutgoingMessage:
    return OutgoingMessage(
        uuid.uuid4(), "agent@exemple.fr", "Maillon — essai", "Bonjour,\n\nUn essai.\n"
    )


async def test_starttls_with_credentials(
    settings: Settings, certificate: tuple[Path, Path]
) -> None:
    sink = SmtpSink()
    options = {
        "tls_context": server_context(certificate),
        "require_starttls": True,
        "auth_required": True,
        "auth_require_tls": True,
        "authenticator": authenticator,
    }
    with smtp_server(sink, **options) as port:
        configured = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "starttls",
                "smtp_username": USER,
                "smtp_password": SecretStr(PASSWORD),
                "smtp_ca_file": certificate[0],
            }
        )
        await EmailChannel(configured).send(message())
        (received,) = sink.messages
        assert received["Subject"] == "Maillon — essai"

        # A certificate nobody vouches for: refused, and tried again later (a setting to fix).
        untrusted = configured.model_copy(update={"smtp_ca_file": None})
        with pytest.raises(TemporaryFailure):
            await EmailChannel(untrusted).send(message())
    assert len(sink.messages) == 1


async def test_implicit_tls(settings: Settings, certificate: tuple[Path, Path]) -> None:
    sink = SmtpSink()
    with smtp_server(sink, ssl_context=server_context(certificate)) as port:
        configured = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "tls",
                "smtp_ca_file": certificate[0],
            }
        )
        await EmailChannel(configured).send(message())
    (received,) = sink.messages
    assert received.get_content().splitlines() == ["Bonjour,", "", "Un essai."]
