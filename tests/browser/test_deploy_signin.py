"""Production sign-in in a real browser: the Cognito hosted UI with PKCE, against a fake
authorization server (Playwright routes) and the local stack's API.

The console reads config.json; here the test answers it as a deploy would (the stack's
ConsoleConfig output), sends the authorize redirect back with a code, and plays the token
endpoint: it checks S256 (the challenge is the SHA-256 of the verifier the page sends), the
state, the one-time verifier, and hands out an access token with ``cognito:groups``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from playwright.sync_api import expect

from tests.browser.conftest import Stack, axe_violations, shot

AUTH = "https://auth.perks.test"
CLIENT = "console-client-1"
SCOPE = "openid email profile perks-perks-test/console"


def _token(groups: list[str], sub: str = "cognito-user-1") -> str:
    """An access token shaped like Cognito's, signed for the local stage's API."""
    from chalicelib.local.stack import stage_env

    env = stage_env("dev")
    now = int(time.time())
    return jwt.encode({"sub": sub, "cognito:groups": groups, "token_use": "access",
                       "scope": SCOPE, "client_id": CLIENT, "iss": env["JWT_ISSUER"],
                       "aud": env["JWT_AUDIENCE"], "iat": now, "exp": now + 3600},
                      env["JWT_SECRET"], algorithm="HS256")


class FakeCognito:
    """config.json, /oauth2/authorize, /oauth2/token and /logout for one page."""

    def __init__(self, page: Any, stack: Stack, groups: list[str] | None = None,
                 forge_state: bool = False) -> None:
        self.console = f"{stack.console}/"
        self.groups = groups or ["marketer"]
        self.forge_state = forge_state
        self.authorize: dict[str, str] = {}
        self.exchanges: list[dict[str, str]] = []
        self.logout: dict[str, str] = {}
        cfg = {"signin": "cognito", "authority": AUTH, "client_id": CLIENT,
               "redirect_uri": self.console, "scope": SCOPE}
        page.route("**/config.json", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(cfg)))
        page.route(f"{AUTH}/oauth2/authorize?*", self._authorize)
        page.route(f"{AUTH}/oauth2/token", self._token)
        page.route(f"{AUTH}/logout?*", self._logout)

    def _authorize(self, route: Any) -> None:
        self.authorize = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        state = "forged-by-another-page" if self.forge_state else self.authorize["state"]
        route.fulfill(status=302,
                      headers={"Location": f"{self.console}?code=the-code&state={state}"})

    def _token(self, route: Any) -> None:
        assert route.request.method == "POST"
        assert route.request.headers["content-type"] == "application/x-www-form-urlencoded"
        self.exchanges.append({k: v[0] for k, v in parse_qs(route.request.post_data).items()})
        route.fulfill(status=200, content_type="application/json",
                      headers={"Access-Control-Allow-Origin": "*"},
                      body=json.dumps({"access_token": _token(self.groups), "id_token": "x",
                                       "token_type": "Bearer", "expires_in": 3600}))

    def _logout(self, route: Any) -> None:
        self.logout = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        route.fulfill(status=302, headers={"Location": self.console})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()


def test_hosted_ui_sign_in_with_pkce_then_sign_out(page: Any, stack: Stack) -> None:
    fake = FakeCognito(page, stack)
    page.goto("/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    # A deployed stage offers the hosted UI and a pasted token; never the dev sign-in.
    expect(page.get_by_role("group", name="企业账号登录")).to_be_visible()
    expect(page.get_by_text("开发登录")).to_have_count(0)
    expect(page.get_by_label("用户名")).to_have_count(0)
    assert axe_violations(page) == []
    shot(page, "signin-cognito")

    go = page.get_by_role("button", name="前往登录页")
    go.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="活动")).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("cognito-user-1")

    a = fake.authorize
    assert (a["response_type"], a["client_id"], a["redirect_uri"], a["scope"],
            a["code_challenge_method"]) == ("code", CLIENT, fake.console, SCOPE, "S256")
    (x,) = fake.exchanges
    assert (x["grant_type"], x["code"], x["client_id"], x["redirect_uri"]) == (
        "authorization_code", "the-code", CLIENT, fake.console)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,128}", x["code_verifier"])
    assert a["code_challenge"] == _s256(x["code_verifier"])
    assert len(a["state"]) >= 16
    # The code leaves the address bar and the verifier is spent.
    assert "code=" not in page.url and "state=" not in page.url
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.includes('pkce'))") == []

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    assert fake.logout == {"client_id": CLIENT, "logout_uri": fake.console}
    assert page.evaluate("sessionStorage.getItem('perks.console.token')") is None


def test_a_callback_with_another_pages_state_is_refused(page: Any, stack: Stack) -> None:
    fake = FakeCognito(page, stack, forge_state=True)
    page.goto("/")
    page.get_by_role("button", name="前往登录页").click()
    expect(page.get_by_role("alert")).to_contain_text("登录回调无法验证")
    assert fake.exchanges == []  # the code was never exchanged
    assert page.evaluate("sessionStorage.getItem('perks.console.token')") is None


def test_a_member_signing_in_through_the_hosted_ui_is_refused(page: Any, stack: Stack) -> None:
    fake = FakeCognito(page, stack, groups=["member"])
    page.goto("/")
    page.get_by_role("button", name="前往登录页").click()
    expect(page.get_by_role("alert")).to_contain_text("会员令牌不能登录控制台")
    assert len(fake.exchanges) == 1
    assert page.evaluate("sessionStorage.getItem('perks.console.token')") is None


def test_the_local_stack_offers_the_dev_sign_in_and_no_hosted_ui(page: Any, stack: Stack) -> None:
    page.goto("/")
    expect(page.get_by_label("用户名")).to_be_visible()
    expect(page.get_by_role("button", name="前往登录页")).to_have_count(0)
    assert page.evaluate("fetch('config.json').then(r => r.json())") == {"signin": "dev"}


def test_hosted_ui_sign_in_in_english_at_tablet_width(page: Any, stack: Stack) -> None:
    FakeCognito(page, stack)
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto("/")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("group", name="Company account")).to_be_visible()
    page.get_by_role("button", name="Go to sign-in page").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name="中文").click()
