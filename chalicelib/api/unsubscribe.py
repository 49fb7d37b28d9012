"""One-click unsubscribe (RFC 8058): public, addressed by the signed ticket of an email.

``POST /unsubscribe/{ticket}`` is what a mail client's unsubscribe button sends (body
``List-Unsubscribe=One-Click``, no credentials): consent off, 200, never a redirect; repeated
POSTs answer the same (naturally idempotent: there is no caller to scope an Idempotency-Key
to). ``GET`` changes nothing (link scanners and prefetchers follow GETs): a browser
(``Accept: text/html``) gets a page with a confirm button, which POSTs; other clients get
JSON. A browser's POST gets a page back too.
"""

from __future__ import annotations

import html

from chalice import Blueprint, Response

from chalicelib.api.http import Api, Ctx
from chalicelib.domain.delivery.unsubscribe import UnsubscribeView
from chalicelib.services.delivery import unsubscribe as service

bp = Blueprint(__name__)
api = Api(bp)
# Any body type: RFC 8058 clients send a form (urlencoded or multipart), others whatever they
# like, and the body is never read; refusing one (415) would only keep a member subscribed.
ANY_BODY = ("*/*",)
HTML = "text/html; charset=utf-8"
PAGE_HEADERS: dict[str, str | list[str]] = {"Content-Type": HTML, "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                           "form-action 'self'; frame-ancestors 'none'",
                "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
TEXTS = {
    "ask": ("退订营销邮件", "Unsubscribe from marketing email"),
    "button": ("确认退订", "Unsubscribe"),
    "done": ("已退订。您将不再收到此类邮件。", "You are unsubscribed: no more of these emails."),
    "unknown": ("此退订链接无效。", "This unsubscribe link is not valid."),
}


def page(key: str, form: bool = False) -> Response:
    """A small bilingual page (zh-CN, then English); ``form``: the confirm button."""
    zh, en = TEXTS[key]
    button = ('<form method="post"><input type="hidden" name="List-Unsubscribe" '
              'value="One-Click"><button type="submit">{} · {}</button></form>'
              .format(*map(html.escape, TEXTS["button"])) if form else "")
    body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta '
            f'name="viewport" content="width=device-width"><title>{html.escape(zh)}</title>'
            f'</head><body style="font-family:sans-serif;max-width:32em;margin:3em auto">'
            f"<p>{html.escape(zh)}</p><p lang=\"en\">{html.escape(en)}</p>{button}</body></html>")
    return Response(body=body, status_code=200, headers=PAGE_HEADERS)


def browser(ctx: Ctx) -> bool:
    """A person's browser (it asks for HTML) rather than a mail client or a script."""
    return "text/html" in ctx.headers.get("accept", "")


@api.route("POST", "/unsubscribe/{ticket}", roles=None, response=UnsubscribeView,
           accepts=ANY_BODY, idempotent=False)
def unsubscribe(ctx: Ctx, ticket: str) -> UnsubscribeView | Response:
    """One-click unsubscribe (RFC 8058): the ticket's channel consent off; always 200."""
    result = service.unsubscribe(ticket)
    if browser(ctx):
        return page("done" if result.status == "unsubscribed" else "unknown")
    return result


@api.route("GET", "/unsubscribe/{ticket}", roles=None, response=UnsubscribeView)
def unsubscribe_page(ctx: Ctx, ticket: str) -> UnsubscribeView | Response:
    """The footer link: a confirm page for browsers (``confirm``: POST to unsubscribe);
    nothing changes on GET."""
    found = service.read(ticket)
    if browser(ctx):
        return page("ask", form=True) if found else page("unknown")
    return UnsubscribeView(status="confirm" if found else "unknown_link",
                           channel=found.channel if found else None)
