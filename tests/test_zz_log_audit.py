"""Reads every log record the whole run produced and looks for API keys in it.

conftest.py keeps every record (raw, and as the text and JSON formatters print it) and every
API key the service issued during the run; this test runs last (marker `audit`).
"""

from __future__ import annotations

import pytest

from tests.conftest import (
    COLLECTED_OTHER_TESTS,
    ISSUED_API_KEYS,
    ISSUED_INGEST_TOKENS,
    ISSUED_WEBHOOK_SECRETS,
    LOG_CAPTURE,
)
from tests.core.test_concurrency import LEAKY_REQUEST_ID


@pytest.mark.audit
def test_no_api_key_appears_in_any_log_line() -> None:
    if len(COLLECTED_OTHER_TESTS) < 5:
        pytest.skip("the audit needs the rest of the suite in the same run")
    assert ISSUED_API_KEYS, "the run issued no API key: the audit would prove nothing"
    assert LOG_CAPTURE.records, "the run logged nothing: the capture is not attached"
    access_lines = [r for r in LOG_CAPTURE.records if r.name == "onboarder.access"]
    assert access_lines, "no request went through the access log"
    for key in ISSUED_API_KEYS:
        secret_part = key.split("_", 2)[2]
        leaks = [index for index, line in enumerate(LOG_CAPTURE.lines) if secret_part in line]
        # Report where, never the line itself: it holds the key.
        assert not leaks, f"an API key leaked into {len(leaks)} log line(s), e.g. #{leaks[0]}"


def _never_logged(secrets: list[str], prefix: str, what: str) -> None:
    if len(COLLECTED_OTHER_TESTS) < 5:
        pytest.skip("the audit needs the rest of the suite in the same run")
    assert secrets, f"the run made no {what}: the audit would prove nothing"
    for secret in secrets:
        key = secret.removeprefix(prefix)
        leaks = [index for index, line in enumerate(LOG_CAPTURE.lines) if key in line]
        # Report where, never the line itself: it holds the secret.
        assert not leaks, f"a {what} leaked into {len(leaks)} log line(s), e.g. #{leaks[0]}"


@pytest.mark.audit
def test_no_webhook_secret_appears_in_any_log_line() -> None:
    _never_logged(ISSUED_WEBHOOK_SECRETS, "whsec_", "webhook secret")


@pytest.mark.audit
def test_no_ingest_token_appears_in_any_log_line() -> None:
    _never_logged(ISSUED_INGEST_TOKENS, "oit_", "ingest token")


@pytest.mark.audit
def test_no_request_kept_a_database_transaction_past_the_function_that_began_it() -> None:
    """Every route ends its transaction in the worker thread that began it, so that no pooled
    connection is held while a request waits for a thread (see app.core.db). The one
    request that leaks on purpose is the test of that guard."""
    if len(COLLECTED_OTHER_TESTS) < 5:
        pytest.skip("the audit needs the rest of the suite in the same run")
    leaks = [
        getattr(record, "request_id", None)
        for record in LOG_CAPTURE.records
        if record.getMessage() == "a database transaction outlived the function that began it"
        and getattr(record, "request_id", None) != LEAKY_REQUEST_ID
    ]
    assert not leaks, f"requests {leaks} kept a transaction open past their function"
