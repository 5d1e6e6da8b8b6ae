"""Webhooks never reach internal addresses (decision 0042), in every environment.

No test here sends anything outside loopback: names are answered by a resolver stub, and for a
refused address the code must refuse before connecting — the stub records the question, the
HTTP client never gets one (the local receiver counts what arrives).
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from services.core.clock import FrozenClock
from services.core.db import SessionMaker
from services.core.egress import (
    RefusedAddress,
    allowed,
    check_host,
    is_public,
    literal_address,
)
from services.core.events import OfferPublished, emit
from services.core.models.notification import (
    WebhookDelivery,
    WebhookDeliveryError,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from services.core.models.offer import OfferStatus
from services.core.models.organisation import OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from services.core.webhooks import new_secret
from services.notifications import handlers as _handlers  # noqa: F401  (registers the handlers)
from services.notifications import webhooks
from services.notifications.consumer import consumer
from tests.api.conftest import ClientFactory, assert_problem
from tests.factories import bearer, make_offer, make_organisation, make_user
from tests.notifications.servers import Request, http_server

pytestmark = pytest.mark.usefixtures("reference_data")

INTERNAL = (
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space
    "0.0.0.0",  # noqa: S104  (an address to classify, not to bind)
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:db8::1",
)
PUBLIC = ("93.184.215.14", "2606:4700::6810:84e5", "::ffff:93.184.215.14")


@pytest.mark.parametrize("text", INTERNAL)
def test_internal_addresses_are_refused(text: str) -> None:
    address = ipaddress.ip_address(text)
    assert not is_public(address)
    assert not allowed(address, ())


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text: str) -> None:
    assert is_public(ipaddress.ip_address(text))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
    ],
)
def test_every_written_form_of_an_address_is_read_as_that_address(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)
    with pytest.raises(RefusedAddress):
        check_host(host, ())


@pytest.mark.parametrize(
    "host", ["localhost", "localhost.", "LOCALHOST", "api.localhost", "intranet", "nas.local"]
)
def test_local_names_are_refused_from_the_url(host: str) -> None:
    with pytest.raises(RefusedAddress):
        check_host(host, ())


def test_the_allow_list_lets_a_listed_network_through() -> None:
    loopback = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    check_host("localhost", loopback)
    check_host("127.0.0.1", loopback)
    check_host("[::ffff:127.0.0.1]", loopback)
    with pytest.raises(RefusedAddress):
        check_host("10.0.0.1", loopback)
    check_host("sirh.exemple.fr", ())  # a name: resolved and checked at delivery


async def test_creating_a_subscription_to_an_internal_address_is_a_422_in_every_environment(
    client_for: ClientFactory, committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    async with committing_sessionmaker() as session:
        facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        facilitator = await make_user(session, facilitation, Role.FACILITATOR)
        await session.commit()
    environments: list[dict[str, object]] = [
        {"environment": "development", "webhook_allowed_networks": ""},
        {"environment": "test", "webhook_allowed_networks": ""},
        {
            "environment": "production",
            "secret_key": SecretStr("s" * 40),
            "webhook_allowed_networks": "",
        },
    ]
    for changes in environments:
        async with client_for(**changes) as api:
            headers = bearer(facilitator, settings.model_copy(update=changes))
            for url in (
                "https://localhost./hook",
                "https://127.0.0.1/hook",
                "https://2130706433/hook",
                "https://0x7f000001/hook",
                "https://10.1.2.3/hook",
                "https://[::1]/hook",
                "https://[::ffff:169.254.169.254]/hook",
                "https://0.0.0.0/hook",
                "https://intranet/hook",
                "https://nas.local/hook",
            ):
                response = await api.post(
                    "/v1/webhooks",
                    json={"url": url, "event_types": ["offer.published"]},
                    headers=headers,
                )
                problem = assert_problem(response, 422, "validation-failed")
                errors = problem["errors"]
                assert isinstance(errors, list) and len(errors) == 1, url
                assert errors[0]["loc"] == ["body", "url"], url
                assert "adresse interne" in errors[0]["message"], url
            accepted = await api.post(
                "/v1/webhooks",
                json={"url": "https://sirh.exemple.fr/hook", "event_types": ["offer.published"]},
                headers=headers,
            )
            assert accepted.status_code == 201, accepted.text
            plain = await api.post(
                "/v1/webhooks",
                json={"url": "http://sirh.exemple.fr/hook", "event_types": ["offer.published"]},
                headers=headers,
            )
            if changes["environment"] == "production":
                problem = assert_problem(plain, 422, "validation-failed")
                assert "https" in str(problem["errors"])
            else:
                assert plain.status_code == 201, plain.text
    async with committing_sessionmaker() as session:
        stored = list(
            await session.scalars(
                select(col(WebhookSubscription.url)).where(
                    col(WebhookSubscription.organisation_id) == facilitation.id
                )
            )
        )
    assert sorted(set(stored)) == ["http://sirh.exemple.fr/hook", "https://sirh.exemple.fr/hook"]


class StubResolver:
    """Answers names from a table, as a DNS server would; records every question."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError("unknown name")
        return self.answers[host]


async def _one_offer_event(sessionmaker: SessionMaker, settings: Settings, url: str) -> uuid.UUID:
    async with sessionmaker() as session:
        employer = await make_organisation(session)
        subscriber = await make_organisation(session, kind=OrganisationKind.FACILITATION)
        offer = await make_offer(session, employer, status=OfferStatus.OPEN)
        subscription = WebhookSubscription(
            organisation_id=subscriber.id,
            url=url,
            event_types=["offer.published"],
            secret=new_secret(),
            role=Role.FACILITATOR,
        )
        session.add(subscription)
        row = emit(session, OfferPublished(offer_id=offer.id))
        await session.commit()
    assert await consumer.handle(sessionmaker, row.id, job_try=1, settings=settings) == "handled"
    return subscription.id


async def _delivery(sessionmaker: SessionMaker, subscription_id: uuid.UUID) -> WebhookDelivery:
    """The subscription's first delivery (later offer events of a test reach it too)."""
    async with sessionmaker() as session:
        delivery = await session.scalar(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.subscription_id) == subscription_id)
            .order_by(col(WebhookDelivery.id))
            .limit(1)
        )
        assert delivery is not None
        return delivery


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["::1"],
        ["10.0.0.7"],
        ["169.254.169.254"],
        ["::ffff:127.0.0.1"],
        ["0.0.0.0"],  # noqa: S104  (an answer to classify)
        ["93.184.215.14", "127.0.0.1"],  # one internal answer refuses the name
    ],
)
async def test_a_name_resolving_to_an_internal_address_is_refused_before_connecting(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    answers: list[str],
) -> None:
    """The receiver listens on loopback; the URL names it through a host name the stub answers.
    Without the allow-list nothing may reach it, whatever the environment."""

    async def ok(request: Request) -> tuple[int, bytes]:
        return 204, b""

    strict = settings.model_copy(update={"webhook_allowed_networks": ""})
    async with http_server(ok) as receiver:
        port = httpx.URL(receiver.url).port
        subscription_id = await _one_offer_event(
            committing_sessionmaker, settings, f"http://hooks.exemple.fr:{port}/hook"
        )
        resolver = StubResolver({"hooks.exemple.fr": answers})
        report = await webhooks.sweep(committing_sessionmaker, strict, resolver=resolver)
    assert resolver.asked == ["hooks.exemple.fr"]
    assert receiver.requests == []
    assert report.retried == 1
    delivery = await _delivery(committing_sessionmaker, subscription_id)
    assert delivery.status is WebhookDeliveryStatus.PENDING
    assert delivery.last_error == WebhookDeliveryError.REFUSED_ADDRESS
    assert delivery.last_status_code is None


@pytest.mark.parametrize(
    "url", ["http://localhost.:{port}/hook", "http://2130706433:{port}/hook", "http://x:{port}/"]
)
async def test_urls_naming_loopback_are_refused_at_delivery_without_any_lookup(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock, url: str
) -> None:
    """A subscription stored before the check (or written around the API) is refused too."""

    async def ok(request: Request) -> tuple[int, bytes]:
        return 204, b""

    strict = settings.model_copy(update={"webhook_allowed_networks": ""})
    async with http_server(ok) as receiver:
        port = httpx.URL(receiver.url).port
        subscription_id = await _one_offer_event(
            committing_sessionmaker, settings, url.format(port=port)
        )
        resolver = StubResolver({})
        await webhooks.sweep(committing_sessionmaker, strict, resolver=resolver)
    assert resolver.asked == []
    assert receiver.requests == []
    delivery = await _delivery(committing_sessionmaker, subscription_id)
    assert delivery.last_error == WebhookDeliveryError.REFUSED_ADDRESS


async def test_delivery_goes_to_the_checked_address_with_the_name_as_host(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    """The name is resolved once and the POST goes to that address (no second lookup a
    rebinding DNS server could answer differently); the receiver still sees the name."""

    async def ok(request: Request) -> tuple[int, bytes]:
        return 200, b"{}"

    async with http_server(ok) as receiver:
        port = httpx.URL(receiver.url).port
        subscription_id = await _one_offer_event(
            committing_sessionmaker, settings, f"http://sirh.exemple.fr:{port}/hook"
        )
        resolver = StubResolver({"sirh.exemple.fr": ["127.0.0.1"]})
        report = await webhooks.sweep(committing_sessionmaker, settings, resolver=resolver)
    assert report.delivered == 1
    assert resolver.asked == ["sirh.exemple.fr"]
    (request,) = receiver.requests
    assert request.headers["host"] == f"sirh.exemple.fr:{port}"
    assert request.path == "/hook"
    assert json.loads(request.body)["type"] == "offer.published"
    delivery = await _delivery(committing_sessionmaker, subscription_id)
    assert (delivery.status, delivery.last_error) == (WebhookDeliveryStatus.DELIVERED, None)


async def test_failures_are_logged_as_kinds_a_closed_port_like_any_connection_failure(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    async with http_server(lambda request: _status(503)) as receiver:
        port = httpx.URL(receiver.url).port
        answered = await _one_offer_event(
            committing_sessionmaker, settings, f"http://127.0.0.1:{port}/hook"
        )
    # The server is gone: its port is closed now.
    await webhooks.sweep(committing_sessionmaker, settings)
    unknown = await _one_offer_event(
        committing_sessionmaker, settings, "http://nowhere.exemple.fr/hook"
    )
    await webhooks.sweep(committing_sessionmaker, settings, resolver=StubResolver({}))
    # Both events reached the first subscription: each try met the closed port.
    async with committing_sessionmaker() as session:
        closed = list(
            await session.scalars(
                select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == answered)
            )
        )
    assert len(closed) == 2
    assert {(d.last_error, d.last_status_code) for d in closed} == {
        (WebhookDeliveryError.CONNECTION_FAILED, None)
    }
    missing = await _delivery(committing_sessionmaker, unknown)
    assert missing.last_error == WebhookDeliveryError.NAME_NOT_RESOLVED


async def test_a_non_2xx_answer_is_logged_as_http_status(
    committing_sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    async with http_server(lambda request: _status(503)) as receiver:
        subscription_id = await _one_offer_event(
            committing_sessionmaker, settings, receiver.url + "/hook"
        )
        await webhooks.sweep(committing_sessionmaker, settings)
    assert len(receiver.requests) == 1
    delivery = await _delivery(committing_sessionmaker, subscription_id)
    assert (delivery.last_error, delivery.last_status_code) == (
        WebhookDeliveryError.HTTP_STATUS,
        503,
    )


async def _status(code: int) -> tuple[int, bytes]:
    return code, b"{}"


@pytest.fixture(scope="module")
def named_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for the name ``sirh.exemple.fr`` only (no address in it)."""
    directory = tmp_path_factory.mktemp("webhook-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=sirh.exemple.fr",
            "-addext", "subjectAltName=DNS:sirh.exemple.fr",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_over_tls_the_name_is_sent_as_sni_and_the_certificate_checked_against_it(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    named_certificate: tuple[Path, Path],
) -> None:
    """The connection goes to the checked address, yet TLS is about the name: the server sees
    it as SNI, and a certificate for another name is refused (``tls_error``, nothing sent)."""
    cert, key = named_certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(str(cert), str(key))
    names: list[str | None] = []
    server_tls.sni_callback = lambda _socket, name, _context: names.append(name)
    trusted = ssl.create_default_context(cafile=str(cert))

    async def ok(request: Request) -> tuple[int, bytes]:
        return 200, b"{}"

    async with http_server(ok, tls=server_tls) as receiver:
        port = httpx.URL(receiver.url).port
        right = await _one_offer_event(
            committing_sessionmaker, settings, f"https://sirh.exemple.fr:{port}/hook"
        )
        report = await webhooks.sweep(
            committing_sessionmaker,
            settings,
            resolver=StubResolver({"sirh.exemple.fr": ["127.0.0.1"]}),
            tls=trusted,
        )
        assert report.delivered == 1
        wrong = await _one_offer_event(
            committing_sessionmaker, settings, f"https://autre.exemple.fr:{port}/hook"
        )
        await webhooks.sweep(
            committing_sessionmaker,
            settings,
            resolver=StubResolver({"autre.exemple.fr": ["127.0.0.1"], "sirh.exemple.fr": []}),
            tls=trusted,
        )
    assert names[0] == "sirh.exemple.fr"
    assert "autre.exemple.fr" in names
    (request,) = receiver.requests
    assert request.headers["host"] == f"sirh.exemple.fr:{port}"
    assert (await _delivery(committing_sessionmaker, right)).status is (
        WebhookDeliveryStatus.DELIVERED
    )
    refused = await _delivery(committing_sessionmaker, wrong)
    assert (refused.status, refused.last_error) == (
        WebhookDeliveryStatus.PENDING,
        WebhookDeliveryError.TLS_ERROR,
    )
