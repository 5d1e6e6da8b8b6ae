"""The callback window (product.md §6), the rules the API and the notifications worker share:
the alert schedule (:mod:`.schedule`), cases and their alerts (:mod:`.cases`), where a new case
goes (:mod:`.routing`), the quarterly report and its files (:mod:`.report`,
:mod:`.report_files`). The jobs that run them live in :mod:`services.notifications.callbacks`."""
