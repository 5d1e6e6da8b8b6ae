"""Reference data over HTTP: ROME, borne sectors, communes and QPV (``/v1/referentials``)."""
