"""How the chaos run counts what the SMTP server received (decision 0072): an alert received
again with its own ``Message-ID`` is told apart from a true duplicate — the same alert under
another ``Message-ID``, which no receiver can recognise."""

from __future__ import annotations

from email.message import EmailMessage

from bench.chaos import Outcome, tally
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
    mailbox.accept(mail("<a@maillon.notifications>", "x@exemple.fr", "Rappel A", "Dossier A"))
    for _ in range(2):
        mailbox.accept(mail("<b@maillon.notifications>", "x@exemple.fr", "Rappel B", "Dossier B"))
    outcome = Outcome(alerts=2, intakes=2, settled=True, kills={"notifications": 1})
    tally(outcome, mailbox, ids)
    assert (outcome.received_twice_or_more, outcome.true_duplicates) == (1, 0)
    assert outcome.ok
