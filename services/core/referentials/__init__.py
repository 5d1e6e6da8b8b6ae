"""Reference data: ROME, borne sectors, and the importers of every reference file."""
