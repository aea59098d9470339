"""Real-time updates benchmark (python -m bench.ingest): see __main__.py."""
