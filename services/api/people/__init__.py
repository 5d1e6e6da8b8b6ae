"""Writing people and intakes: the one write path of every form, box of forms and imported file.

Who writes through it: ``POST /v1/intakes`` (one form) and ``POST /v1/intakes/batch`` (a box of
forms, :mod:`.batch`) through :mod:`.intakes`; the bulk import of a CSV file (``maillon import
candidates``, :mod:`services.api.candidates.bulk`) and the demo people of ``maillon up --demo``
through :mod:`.chunks` and :mod:`.intakes`. The path is the same for all of them:

1. :mod:`.persons`: each row (a checked form, a checked line) as the writer reads it
   (:class:`~.persons.ValidRow`), laid over the person it names, in memory;
2. :mod:`.store`: the contact keys locked and the stored people they name read (one round trip);
3. :mod:`.plan`: the rows to write (candidates, updates, shares, intakes, outbox events through
   :func:`services.core.events.outbox_row`, audit entries), with the columns of :mod:`.columns`;
4. :mod:`.store`: written in one statement (a request) or with ``COPY`` (an import's chunk).

A single form naming somebody new skips step 2 and is written in one round trip, in a transaction
of its own (decisions 0036, 0069).
"""
