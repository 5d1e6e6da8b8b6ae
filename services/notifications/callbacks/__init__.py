"""The callback window's jobs in the notifications worker: the event handlers that open and close
cases, the per-case alert job and the sweep (:mod:`.jobs`, :mod:`.sweep`). The rules they apply
live in :mod:`services.core.callbacks`."""
