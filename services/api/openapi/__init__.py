"""The OpenAPI document beyond what FastAPI builds: description, errors, webhooks."""
