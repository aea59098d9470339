"""Webhook delivery benchmark: python -m bench.webhooks (see __main__.py)."""
