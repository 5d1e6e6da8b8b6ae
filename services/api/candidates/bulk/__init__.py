"""Bulk import of candidates from a CSV file (HR systems, the migration of an existing file).

See docs/decisions/0019-bulk-import.md: rows are checked with the API's own rules
(:mod:`.rows`), people are found again and written by the people write path intakes use too
(:mod:`services.api.people`), each chunk set-based in one transaction.
"""
