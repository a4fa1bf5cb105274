"""The pages load cleanly in both languages and both screen sizes, and say everything in both languages.

No engine or database is needed: the pages are mounted on a bare app, as ``mount_pages`` mounts them
on the service. The translation check covers every key the pages use literally and every server
code they translate (actions, guidance, reasons, roles, outcomes, session states).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from portraitmatch.adapters.web.routes import console
from portraitmatch.adapters.web.routes.pages import PAGES, STATIC_DIR, mount_pages
from portraitmatch.audit.reasons import ReverificationReason
from portraitmatch.liveness.guidance import Guidance
from portraitmatch.registry.access import Role
from portraitmatch.registry.numbers import SubscriptionStatus
from portraitmatch.registry.sessions import Purpose, SessionState
from portraitmatch.types import Action, Outcome, Reason
from tests.e2e.browser.conftest import DESKTOP, PHONE
from tests.e2e.browser.server import Served, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    app = FastAPI()
    mount_pages(app)
    with serve(app) as running:
        yield running


@pytest.fixture(scope="module")
def strings(served: Served, launch_browser: Any) -> dict[str, dict[str, str]]:
    page = launch_browser().new_page()
    page.goto(served.url + "/")
    table = page.evaluate("async () => (await import('/static/js/i18n.js')).STRINGS")
    version = page.evaluate("async () => (await import('/static/js/i18n.js')).NOTICE_VERSION")
    page.close()
    assert version == console.NOTICE_VERSION, "bump the notice version in i18n.js and console.py together"
    return table


def test_every_page_is_served_with_its_security_headers(served: Served) -> None:
    for route in PAGES:
        r = httpx.get(served.url + route)
        assert r.status_code == 200, route
        assert r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["permissions-policy"].startswith("camera=(self)")
        assert r.headers["referrer-policy"] == "no-referrer"


def _literal_keys() -> set[str]:
    keys: set[str] = set()
    for path in STATIC_DIR.rglob("*"):
        if path.suffix not in (".html", ".js") or path.name == "i18n.js":
            continue
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'data-i18n(?:-placeholder|-title|-aria)?="([a-z_.A-Z]+)"', text))
        keys |= set(re.findall(r'\bt\("([a-z_.A-Z]+)"', text))
        keys |= set(re.findall(r'(?:title|body|label): "([a-z_]+\.[a-z_.]+)"', text))
    return keys


def test_both_languages_have_every_string_the_pages_use(strings: dict[str, dict[str, str]]) -> None:
    needed = _literal_keys()
    needed |= {f"action.{a}" for a in Action} | {f"prompt.{a}" for a in Action}
    needed |= {f"guidance.{g}" for g in Guidance}
    needed |= {f"reason.{r}" for r in Reason}
    needed |= {f"reverify.reason.{r}" for r in ReverificationReason}
    needed |= {f"role.{r}" for r in Role}
    needed |= {f"decision.{o}" for o in Outcome}
    needed |= {f"capturestep.state.{s}" for s in SessionState}
    needed |= {f"wizard.title.{p}" for p in Purpose} | {f"wizard.lead.{p}" for p in Purpose}
    needed |= {f"status.{s}" for s in SubscriptionStatus}
    needed |= {f"capture.result.{o}.{part}" for o in Outcome for part in ("title", "body")}
    needed |= {
        f"capture.camera.{k}.{part}"
        for k in ("denied", "none", "busy", "insecure")
        for part in ("title", "body")
    }
    assert len(needed) > 150
    for lang in ("en", "zh"):
        missing = sorted(k for k in needed if k not in strings[lang])
        assert not missing, f"{lang} lacks {missing}"
    assert set(strings["en"]) == set(strings["zh"]), set(strings["en"]) ^ set(strings["zh"])
    placeholders = re.compile(r"\{[a-z_]+\}")
    for key, text in strings["en"].items():
        assert set(placeholders.findall(text)) == set(placeholders.findall(strings["zh"][key])), key


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pages_load_without_errors(served: Served, launch_browser: Any, viewport: dict, lang: str) -> None:
    context = launch_browser().new_context(viewport=viewport, locale="zh-CN" if lang == "zh" else "en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    for route, ready in (
        ("/", ".tiles"),
        ("/console", "#signin:not([hidden])"),
        ("/auditor", "#signin:not([hidden])"),
        ("/capture", "#screen-message:not([hidden])"),
    ):
        page.goto(f"{served.url}{route}#lang={lang}")
        page.wait_for_selector(ready)
        assert page.evaluate("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
        # Nothing may be wider than the screen: a phone must not scroll sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{route} is {overflow}px wider than the screen"
    title = page.locator("#message-title").inner_text()
    assert title == ("链接不完整" if lang == "zh" else "This link is not complete")
    page.click("#lang")  # switch languages: the screen is redrawn in the other one
    switched = page.locator("#message-title").inner_text()
    assert switched == ("This link is not complete" if lang == "zh" else "链接不完整")
    assert errors == []
    context.close()
