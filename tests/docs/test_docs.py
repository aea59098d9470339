"""The newcomer documentation stays true: every error code the service can answer has its
entry in docs/troubleshooting.md, and every link from the README and between the docs points
at a file (or a heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# `code="..."` in a problem or an AWS failure, `code = "..."` on an error class.
CODE = re.compile(r"\bcode\s?=\s?\"([a-z_]+)\"")
LINK = re.compile(r"\]\(((?!https?://|mailto:)[^)\s]+)\)")


def _codes_in_app() -> set[str]:
    return {
        code
        for path in (ROOT / "app").rglob("*.py")
        for code in CODE.findall(path.read_text(encoding="utf-8"))
    }


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def test_every_error_code_has_a_troubleshooting_entry() -> None:
    codes = _codes_in_app()
    assert {"role_not_assumable", "aws_timeout", "validation_error"} <= codes  # the scan works
    page = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    missing = sorted(code for code in codes if f"`{code}`" not in page)
    assert missing == [], f"error codes without an entry in docs/troubleshooting.md: {missing}"


def test_links_from_the_readme_and_the_docs_lead_somewhere() -> None:
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    broken: list[str] = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in LINK.findall(text):
            path, _, fragment = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.is_relative_to(ROOT):
                # A clone has nothing outside itself: such a link is broken for every reader.
                broken.append(f"{page.name}: {target} (outside the repository)")
                continue
            if not resolved.exists():
                broken.append(f"{page.name}: {target}")
                continue
            if fragment and resolved.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", resolved.read_text(encoding="utf-8"), re.M)
                if fragment not in {_anchor(h) for h in headings}:
                    broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []
