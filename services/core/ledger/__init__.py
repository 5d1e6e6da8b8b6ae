"""The insertion-hours ledger's rules (product.md §8): hours owed, counted hours, ANRU shares,
statement schedules. Shared by the API and the reports; no service imported here."""
