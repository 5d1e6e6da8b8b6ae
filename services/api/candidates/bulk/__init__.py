"""Bulk import of candidates from a CSV file (HR systems, the migration of an existing file).

See docs/decisions/0019-bulk-import.md: rows are checked with the API's own rules
(:mod:`.rows`), people are found again exactly as intakes find them (:mod:`.people`), and each
chunk is written set-based in one transaction (:mod:`.writer`).
"""
