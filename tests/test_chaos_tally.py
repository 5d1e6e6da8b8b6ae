"""How the chaos run counts what the SMTP server received (decision 0072): an alert received
again with its own ``Message-ID`` is told apart from a true duplicate — the same alert under
another ``Message-ID``, which no receiver can recognise."""

from __future__ import annotations

from email.message import EmailMessage

from bench.chaos import Cause, Outcome, Timeline, tally
from bench.servers import Mailbox


def mail(message_id: str, to: str, subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = "maillon@exemple.fr"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body, charset="utf-8")
    return message.as_bytes()


def test_a_resend_with_the_same_id_is_told_apart_from_a_true_duplicate() -> None:
    mailbox = Mailbox()
    ids = {f"<{n}@maillon.notifications>" for n in ("a", "b", "c", "d")}
    mailbox.accept(mail("<a@maillon.notifications>", "x@exemple.fr", "Rappel A", "Dossier A"))
    # Sent again after a crash between acceptance and mark: the same Message-ID.
    for _ in range(2):
        mailbox.accept(mail("<b@maillon.notifications>", "x@exemple.fr", "Rappel B", "Dossier B"))
    # The same alert under two ids: a second row for it, or an id that changed on a retry.
    mailbox.accept(mail("<c@maillon.notifications>", "x@exemple.fr", "Rappel C", "Dossier C"))
    mailbox.accept(mail("<d@maillon.notifications>", "x@exemple.fr", "Rappel C", "Dossier C"))
    mailbox.accept(mail("<z@ailleurs>", "y@exemple.fr", "Autre", "Autre chose"))

    outcome = Outcome(alerts=4, intakes=4, settled=True)
    tally(outcome, mailbox, ids)

    assert outcome.received_once == 3  # a, c and d, each once by its own id
    assert outcome.received_twice_or_more == 1  # b: the receiver can deduplicate
    assert outcome.true_duplicates == 1  # c and d: it cannot
    assert outcome.never_received == 0
    assert outcome.unexpected == 1
    assert not outcome.ok


def test_resends_with_the_same_id_within_the_crash_window_are_met() -> None:
    mailbox = Mailbox()
    ids = {"<a@maillon.notifications>", "<b@maillon.notifications>"}
    mailbox.accept(mail("<a@maillon.notifications>", "x@exemple.fr", "Rappel A", "Dossier A"), 5.0)
    for at in (10.0, 30.0):
        mailbox.accept(
            mail("<b@maillon.notifications>", "x@exemple.fr", "Rappel B", "Dossier B"), at
        )
    outcome = Outcome(alerts=2, intakes=2, settled=True, kills={"notifications": 1})
    # The worker killed 0.3 s after the server accepted b, before the row's mark.
    tally(outcome, mailbox, ids, Timeline(kills={"notifications": [10.3]}))
    assert (outcome.received_twice_or_more, outcome.true_duplicates) == (1, 0)
    assert outcome.resend_causes == {Cause.KILLED: 1}
    assert outcome.ok


def received_twice(first_at: float) -> tuple[Mailbox, set[str]]:
    mailbox = Mailbox()
    for at in (first_at, first_at + 20):
        mailbox.accept(
            mail("<b@maillon.notifications>", "x@exemple.fr", "Rappel B", "Dossier B"), at
        )
    return mailbox, {"<b@maillon.notifications>"}


def test_each_resend_is_put_down_to_the_fault_right_after_its_first_acceptance() -> None:
    timeline = Timeline(
        kills={"notifications": [100.4], "matching": [200.2]},
        smtp_stops=[(300.5, 300.9)],
        redis_restarts=[(400.0, 400.3)],
    )
    expected = {
        100.0: Cause.KILLED,
        300.2: Cause.SMTP_STOPPED,  # stopped 0.3 s after it counted the message
        402.0: Cause.REDIS,  # the lanes stop once the worker notices Redis went away
        200.0: Cause.UNEXPLAINED,  # the matching worker sends nothing
        98.0: Cause.UNEXPLAINED,  # a kill 2.4 s later: the mark had time to be made
    }
    for first_at, cause in expected.items():
        mailbox, ids = received_twice(first_at)
        outcome = Outcome(alerts=1, intakes=1, settled=True, kills={"notifications": 1})
        tally(outcome, mailbox, ids, timeline)
        assert outcome.resend_causes == {cause: 1}, first_at
        # Only a kill or the server's stop may explain a resend: a cancelled sweep keeps its mark.
        assert outcome.ok is (cause in (Cause.KILLED, Cause.SMTP_STOPPED)), first_at


def test_more_resends_put_down_to_kills_than_kills_fail_the_run() -> None:
    mailbox = Mailbox()
    ids = {"<a@maillon.notifications>", "<b@maillon.notifications>"}
    for at in (10.0, 10.1, 40.0, 40.0):
        mailbox.accept(mail("<a@maillon.notifications>", "x@exemple.fr", "A", "A"), at)
        mailbox.accept(mail("<b@maillon.notifications>", "x@exemple.fr", "B", "B"), at)
    outcome = Outcome(alerts=2, intakes=2, settled=True, kills={"notifications": 1})
    tally(outcome, mailbox, ids, Timeline(kills={"notifications": [10.5]}))
    assert outcome.resend_causes == {Cause.KILLED: 2}
    assert not outcome.ok
