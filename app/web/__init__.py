"""The web console: a single-page app served by the service, using only the public API."""
