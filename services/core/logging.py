"""Structured JSON logs that never carry personal data.

Log events name things by id. As a safety net, values under keys known to hold personal data are
replaced before rendering, whatever a caller passed.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

PERSONAL_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "name",
        "full_name",
        "email",
        "phone",
        "address",
        "birth_year",
        "birth_date",
        "sex",
        "password",
        "token",
        "authorization",
        "api_key",
        "secret",
    }
)
REDACTED = "[masqué]"


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in PERSONAL_KEYS:
            event_dict[key] = REDACTED
    return event_dict


# arq's lines for a job starting and a job done (arq/worker.py), and the prefix of cron jobs.
_ARQ_JOB_STARTED = "%6.2fs → %s(%s)%s"
_ARQ_JOB_DONE = "%6.2fs ← %s ● %s"
_NONZERO = re.compile(r"(?<![\w.])-?0*[1-9]\d*")


class QuietIdleCronJobs(logging.Filter):
    """Periodic jobs (deliveries every 10 s, sweeps) that found nothing to do log at DEBUG.

    arq logs every job's start and end at INFO: an idle notifications worker wrote four lines
    every 10 s, burying what matters. A cron job's start is DEBUG; its end stays INFO when its
    result counts something (a message sent, a case raised), else it is DEBUG too. Event jobs,
    retries and failures are untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.msg not in (_ARQ_JOB_STARTED, _ARQ_JOB_DONE):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) < 3 or not str(args[1]).startswith("cron:"):
            return True
        if record.msg == _ARQ_JOB_DONE and _NONZERO.search(str(args[2])):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Libraries (uvicorn, arq, alembic) log through the standard library: same format, same level.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log puts full URLs in messages; requests are logged by our middleware.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request with its full URL (query strings may carry search terms).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The embedded PostgreSQL narrates every pg_ctl call; Alembic every connection; the local
    # mail catcher (aiosmtpd) every SMTP session.
    for chatty in ("pgserver", "alembic", "mail.log"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.WARNING))
    arq_worker = logging.getLogger("arq.worker")
    if not any(isinstance(f, QuietIdleCronJobs) for f in arq_worker.filters):
        arq_worker.addFilter(QuietIdleCronJobs())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
