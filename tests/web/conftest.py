"""Browser tests of the console: headless Chromium (Debian's package) driven by Playwright,
against one `onboarder demo` process shared by the whole session.

Without Chromium or Playwright the browser tests are skipped, except under CI=true, where
`.ci/run` installs both and a missing one fails the run.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.demo.running import Demo, running_demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

try:
    import playwright.sync_api  # noqa: F401 - only whether it imports

    HAS_PLAYWRIGHT = True
except ImportError:  # the test modules import it only when it is there
    HAS_PLAYWRIGHT = False

CHROMIUM = Path(os.environ.get("ONBOARDER_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# The browser's own zone and language: what the console shows must not depend on the machine.
BROWSER_TIMEZONE = "Europe/Berlin"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 20_000


def _missing() -> str | None:
    if not HAS_PLAYWRIGHT:
        return "playwright is not installed (pip install playwright; it is in the dev extra)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests are required in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    # Debian's Chromium, never a downloaded build: `playwright install` is not used.
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def console_demo(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo for every browser test (started only once a browser is known to exist)."""
    with running_demo(
        tmp_path_factory.mktemp("console-demo"),
        # Run-now is picked up within half a second.
        env={"ONBOARDER_SCHEDULER_POLL_SECONDS": "0.5"},
    ) as demo:
        yield demo


def _new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(
        locale="en-US", timezone_id=BROWSER_TIMEZONE, accept_downloads=True, **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


class ConsoleErrors(list[str]):
    """Uncaught page errors and console errors: a test fails if any show up."""


def _open_page(context: BrowserContext) -> tuple[Page, ConsoleErrors]:
    page = context.new_page()
    errors = ConsoleErrors()
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console.{message.type}: {message.text}")
            if message.type == "error" and not _expected_console_error(message.text)
            else None
        ),
    )
    return page, errors


def _expected_console_error(text: str) -> bool:
    # Chromium logs every non-2xx fetch; the console shows those as problems on purpose.
    return bool(re.search(r"Failed to load resource: the server responded with a status of", text))


@pytest.fixture
def anonymous_page(browser: Browser, console_demo: Demo) -> Iterator[Page]:
    """A fresh tab that has not signed in."""
    context = _new_context(browser, viewport=DESKTOP)
    page, errors = _open_page(context)
    yield page
    context.close()
    assert not errors, errors


def signed_in_context(browser: Browser, demo: Demo, **options: Any) -> BrowserContext:
    """A context whose tabs start signed in (the key in session storage, as after sign-in)."""
    context = _new_context(browser, **options)
    context.add_init_script(
        f"window.sessionStorage.setItem('onboarder.apiKey', {json.dumps(demo.api_key)});"
    )
    return context


@pytest.fixture
def page(browser: Browser, console_demo: Demo) -> Iterator[Page]:
    """A signed-in desktop tab."""
    context = signed_in_context(browser, console_demo, viewport=DESKTOP)
    tab, errors = _open_page(context)
    yield tab
    context.close()
    assert not errors, errors


@pytest.fixture
def phone_page(browser: Browser, console_demo: Demo) -> Iterator[Page]:
    """A signed-in tab 360 px wide, touch, like a small phone."""
    context = signed_in_context(
        browser, console_demo, viewport=PHONE, is_mobile=True, has_touch=True
    )
    tab, errors = _open_page(context)
    yield tab
    context.close()
    assert not errors, errors


def screenshot(page: Page, name: str) -> Path:
    """Saves the whole page under artifacts/screenshots/ (git-ignored) for a human to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def demo_aws(
    demo: Demo, service: str, account_id: str | None = None, region: str = "us-east-1"
) -> Any:
    """A client of the demo's simulated AWS (moto): the management account's, or a member
    account's (through its OrganizationAccountAccessRole), as the account's owner acts."""
    import boto3

    found = re.search(r"simulated AWS:\s+(\S+)", demo.banner)
    assert found, demo.banner
    base = {
        "endpoint_url": found.group(1),
        "region_name": region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",  # moto's dummy credentials
    }
    if account_id is None:
        return boto3.client(service, **base)
    credentials = boto3.client("sts", **base).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="console-test",
    )["Credentials"]
    return boto3.client(
        service,
        **{
            **base,
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        },
    )


def organization_connection(demo: Demo, purpose: str) -> tuple[str, dict[str, str]]:
    """A central-role connection of a test module's own to the demo's organization: its id,
    and the accounts' ids by name."""
    created = demo.request(
        "POST",
        "/connections",
        json={
            "name": f"{purpose} organization {uuid.uuid4().hex[:6]}",
            "credential_type": "central_role",
            "central_role_arn": demo.central_role_arn,
        },
    )
    assert created.status_code == 201, created.text
    connection_id: str = created.json()["id"]
    accounts = demo.request("GET", f"/connections/{connection_id}/accounts").json()["items"]
    return connection_id, {a["name"]: a["account_id"] for a in accounts}


def assert_fits(page: Page) -> None:
    """The page does not scroll sideways at its viewport's width (a phone's, say)."""
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width > viewport:
        # The deepest elements that reach past the viewport: what to fix.
        wide = page.evaluate(
            """(viewport) => {
                const past = (el) => el.getBoundingClientRect().right > viewport + 1;
                return [...document.body.querySelectorAll('*')]
                    .filter((el) => past(el) && ![...el.children].some(past))
                    .slice(0, 5).map((el) => el.outerHTML.slice(0, 160));
            }""",
            viewport,
        )
        raise AssertionError(f"the page scrolls sideways: {width}px wide in {viewport}px: {wide}")


def text_lines(element: Any) -> int:
    """How many lines the element's text takes on screen (its text boxes' distinct tops)."""
    count: int = element.evaluate(
        """(node) => {
            const range = document.createRange();
            range.selectNodeContents(node);
            const tops = new Set([...range.getClientRects()]
                .filter((rect) => rect.width > 0)
                .map((rect) => Math.round(rect.top)));
            return tops.size;
        }"""
    )
    return count


def new_rest_api(
    apigw: Any,
    name: str,
    *,
    tags: dict[str, str] | None = None,
    stages: tuple[str, ...] = ("prod",),
) -> str:
    """A regional REST API made as its owner would (GET / on a mock integration), deployed
    to each of `stages` (none: never deployed)."""
    api_id: str = apigw.create_rest_api(
        name=name, endpointConfiguration={"types": ["REGIONAL"]}, tags=tags or {}
    )["id"]
    if stages:
        root = next(
            item["id"]
            for item in apigw.get_resources(restApiId=api_id)["items"]
            if item["path"] == "/"
        )
        apigw.put_method(
            restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
        for stage in stages:
            apigw.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


@pytest.fixture
def web_client(tmp_path: Path) -> Any:
    """The app without a browser; no database is touched (static files, the docs page: the
    lifespan is not entered)."""
    from cryptography.fernet import Fernet
    from fastapi.testclient import TestClient

    from app.core.config import Mode, Settings
    from app.main import create_app

    settings = Settings(
        mode=Mode.EMBEDDED,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        encryption_keys=[Fernet.generate_key().decode()],
    )
    return TestClient(create_app(settings, configure_logs=False))
