"""``/v1/public``: what anyone may read without an account (decision 0062)."""
