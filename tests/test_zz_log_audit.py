"""Reads every log record the whole run produced and looks for API keys in it.

conftest.py keeps every record (raw, and as the text and JSON formatters print it) and every
API key the service issued during the run; this test runs last (marker `audit`).
"""

from __future__ import annotations

import pytest

from tests.conftest import COLLECTED_OTHER_TESTS, ISSUED_API_KEYS, LOG_CAPTURE


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
