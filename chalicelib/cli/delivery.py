"""Delivery from the command line, against the local stack (or any stage):

    perks outbox [--limit N] [--json]                 push and SMS sent to moto's SNS locally
    perks campaigns run ID --at 2026-03-08T09:00:00+08:00 [--no-drain]
                                                      fire an occurrence through the planner
    perks campaigns run ID --from T1 --to T2          rehearse T1..T2 window by window
    perks campaigns stats ID [--json]                 delivery counters, per occurrence,
                      [--from DAY] [--to DAY]         and per arm with 95 % intervals + SRM
    perks delivery tick [--at DATETIME]               one scheduled planner run, then drain
    perks delivery dlq [--redrive]                    dead letters; move them back to retry

``run`` and ``stats`` join the ``campaigns`` command (registered by ``cli/campaigns.py``);
when that module is absent they are still reachable as ``perks delivery run|stats``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chalicelib.cli._shared import moment as _at
from chalicelib.cli._shared import stack_options
from chalicelib.cli._shared import target_stage as _stage


def register(sub: argparse._SubParsersAction) -> None:
    o = sub.add_parser("outbox", help="push notifications and SMS the local stack sent")
    o.add_argument("--limit", type=int, default=50, help="show the last N (default 50)")
    o.add_argument("--json", action="store_true", help="print JSON lines")
    stack_options(o)
    o.set_defaults(func=outbox_cmd)
    d = sub.add_parser("delivery", help="campaign delivery: tick, run, stats")
    dcmds = d.add_subparsers(dest="delivery_command", required=True)
    t = dcmds.add_parser("tick", help="run the scheduled planner once, then drain the queue")
    t.add_argument("--at", default=None, help="ISO date-time with offset (default: now)")
    t.add_argument("--no-drain", action="store_true")
    stack_options(t)
    t.set_defaults(func=tick_cmd)
    q = dcmds.add_parser("dlq", help="count dead letters; --redrive moves them back")
    q.add_argument("--redrive", action="store_true",
                   help="move every dead letter back to its queue (processing is idempotent)")
    stack_options(q)
    q.set_defaults(func=dlq_cmd)
    add_campaign_commands(dcmds)
    campaigns = sub.choices.get("campaigns")
    if campaigns is not None:  # `perks campaigns run|stats` beside validate/lint/preview/sync
        cmds = next(a for a in campaigns._actions if isinstance(a, argparse._SubParsersAction))
        add_campaign_commands(cmds)


def add_campaign_commands(cmds: argparse._SubParsersAction) -> None:
    r = cmds.add_parser("run", help="fire a campaign occurrence now, through the planner")
    r.add_argument("campaign_id")
    r.add_argument("--at", default=None,
                   help="the occurrence instant, ISO with offset, e.g. 2026-03-08T09:00:00+08:00"
                        " (run again with a later --at to reach later time zones)")
    r.add_argument("--from", dest="start", default=None,
                   help="rehearse a span: every planner window from this instant ...")
    r.add_argument("--to", dest="end", default=None,
                   help="... to this one, delivering after each window as the scheduler would")
    r.add_argument("--minutes", type=int, default=None,
                   help="plan the window of this many minutes ending at --at (default: the "
                        "schedule interval)")
    r.add_argument("--no-drain", action="store_true",
                   help="only enqueue (let `make run` deliver)")
    r.add_argument("--stage", dest="target_stage", default=None)
    stack_options(r)
    r.set_defaults(func=run_cmd)
    s = cmds.add_parser("stats", help="delivery counters of a campaign")
    s.add_argument("campaign_id")
    s.add_argument("--json", action="store_true")
    s.add_argument("--from", dest="start", default=None,
                   help="per-arm results from this day, campaign timezone (default: its first)")
    s.add_argument("--to", dest="end", default=None,
                   help="per-arm results up to this day (default: today)")
    s.add_argument("--stage", dest="target_stage", default=None)
    stack_options(s)
    s.set_defaults(func=stats_cmd)




def _drain() -> dict[str, int]:
    """Deliver what is queued now, with the same handler and event shape as Lambda."""
    from app import app
    from chalicelib.config import get_settings
    from chalicelib.local.runner import Runner

    runner = Runner(app, retry_after=1)
    r = runner.drain(get_settings().delivery_queue_name, max_batches=10_000)
    return {"batches": r.batches, "messages": r.succeeded, "failed": r.failed}


def _wait_idle(timeout: float = 60.0) -> bool:
    """Until the delivery queue holds nothing visible or in flight (another consumer, such as
    `make run`'s runner, may be delivering)."""
    import time

    from chalicelib.adapters import aws
    from chalicelib.config import get_settings

    sqs = aws.client("sqs")
    url = aws.queue_url(get_settings().delivery_queue_name)
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        busy = sum(int(v) for v in a.values())
        quiet = quiet + 1 if busy == 0 else 0
        if quiet >= 2:
            return True
        time.sleep(0.5)
    return False


def run_cmd(args: argparse.Namespace) -> int:
    if (args.at is None) == (args.start is None and args.end is None) or \
            (args.start is None) != (args.end is None):
        print("error: give either --at T or both --from T1 --to T2", file=sys.stderr)
        return 2
    if args.start is not None and args.no_drain:
        print("error: a --from/--to rehearsal delivers after each window (later time zones "
              "are found by then); drop --no-drain", file=sys.stderr)
        return 2
    _stage(args)
    from chalicelib.errors import PerksError
    from chalicelib.services.delivery import delivery

    try:
        if args.at is not None:
            _print_plan(delivery.run_campaign(args.campaign_id, _at(args.at), args.minutes))
            if not args.no_drain:
                _deliver_queued()
        else:
            reports = delivery.rehearse(args.campaign_id, _at(args.start), _at(args.end),
                                        args.minutes, after_each=_rehearsal_window)
            print(f"rehearsed {len(reports)} window(s): "
                  f"{sum(r.tasks for r in reports)} member task(s), "
                  f"{sum(r.scans for r in reports)} scan segment(s)")
    except PerksError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    return _print_stats(args.campaign_id, as_json=False)


def _print_plan(report: Any) -> None:
    print(f"planned {report.start} → {report.end}: {report.tasks} member task(s) in "
          f"{report.entries} message(s), {report.scans} scan segment(s), "
          f"{report.sqs_requests} SendMessageBatch request(s)")


def _deliver_queued() -> None:
    drained = _drain()
    idle = _wait_idle()
    print(f"delivered: {drained['messages']} queue message(s) processed here"
          + (f", {drained['failed']} failed (retried later)" if drained["failed"] else "")
          + ("" if idle else "; the queue is still busy, stats may lag"))


def _rehearsal_window(report: Any) -> None:
    """Between a rehearsal's windows: deliver, so the next window sees who was parked."""
    if report.entries:
        _print_plan(report)
        _deliver_queued()


def tick_cmd(args: argparse.Namespace) -> int:
    _stage(args)
    from datetime import timedelta

    from chalicelib.services import clock
    from chalicelib.services.delivery import delivery

    at = _at(args.at)
    if at > clock.now() + timedelta(minutes=1):
        print("error: --at is in the future; the scheduler's cursor would jump ahead and real "
              "runs would skip until then. Use `perks campaigns run ID --at ...` to fire a "
              "future occurrence.", file=sys.stderr)
        return 2
    report = delivery.tick(at)
    print(json.dumps(report.__dict__, default=str))
    if not args.no_drain:
        print(json.dumps(_drain()))
    return 0


def redrive(dlq_name: str, queue_name: str) -> int:
    """Move every message of a dead-letter queue back to its queue; returns how many."""
    from chalicelib.adapters import aws
    from chalicelib.adapters.retries import send_batches

    sqs = aws.client("sqs")
    dlq, target = aws.queue_url(dlq_name), aws.queue_url(queue_name)
    moved = 0
    while True:
        msgs = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10,
                                   VisibilityTimeout=60).get("Messages", [])
        if not msgs:
            return moved
        send_batches(target, [m["Body"] for m in msgs])
        sqs.delete_message_batch(QueueUrl=dlq, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
        moved += len(msgs)


def dlq_cmd(args: argparse.Namespace) -> int:
    _stage(args)
    from chalicelib.config import get_settings
    from chalicelib.services.delivery import delivery

    print(json.dumps({"dead_letters": delivery.dead_letters()}))
    if args.redrive:
        s = get_settings()
        moved = {"delivery": redrive(s.delivery_dlq_name, s.delivery_queue_name),
                 "events": redrive(s.events_dlq_name, s.events_queue_name)}
        print(json.dumps({"redriven": moved}))
    return 0


def stats_cmd(args: argparse.Namespace) -> int:
    _stage(args)
    return _print_stats(args.campaign_id, as_json=args.json,
                        span=(getattr(args, "start", None), getattr(args, "end", None)))


def _print_stats(campaign_id: str, as_json: bool,
                 span: tuple[str | None, str | None] | None = None) -> int:
    from chalicelib.errors import NotFound, ValidationFailed
    from chalicelib.services.campaigns.results import arm_results
    from chalicelib.services.delivery import delivery

    try:
        stats = delivery.campaign_stats(campaign_id)
        # per arm (`campaigns stats`; `campaigns run` shows the counters only)
        per_arm = arm_results(campaign_id, *span) if span is not None else None
    except (NotFound, ValidationFailed) as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    if as_json:
        extra = {"per_arm": per_arm} if per_arm is not None else {}
        print(json.dumps({**json.loads(stats.model_dump_json()), **extra}, indent=2,
                         ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"campaign {campaign_id}")
    table.add_column("occurrence")
    cols = ("targeted", "held_out", "delivered", "deferred", "suppressed", "sent", "failed",
            "coupons_issued", "coupons_redeemed", "points_awarded", "draw_entries_granted",
            "cost_minor", "orders_treated", "lift")
    for c in cols:
        table.add_column(c, justify="right")
    rows = [(o.occurrence, o) for o in stats.occurrences] + [("TOTAL", stats.totals)]
    for name, row in rows:
        d = row.model_dump()
        cells = []
        for c in cols:
            v = d.get(c)
            if isinstance(v, dict):
                v = " ".join(f"{k}={n}" for k, n in v.items() if n) or "0"
            cells.append("-" if v is None else str(v))
        table.add_row(name, *cells)
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    if stats.journey is not None:
        print_journey(console, stats.journey)
    if per_arm is not None:
        print_arms(console, per_arm)
    return 0


def print_journey(console: Any, journey: dict[str, Any]) -> None:
    """A journey's members (entered, active at a wait, exited with their reasons,
    completed), then per step how many reached it and, for waits, how many are at it now:
    the API's ``journey`` object."""
    from rich.table import Table

    reasons = journey.get("exit_reasons") or {}
    exited = str(journey.get("exited", 0)) + (" (" + ", ".join(
        f"{k}={n}" for k, n in reasons.items()) + ")" if reasons else "")
    console.print(f"journey: entered {journey.get('entered', 0)} · active "
                  f"{journey.get('active', 0)} · exited {exited} · completed "
                  f"{journey.get('completed', 0)}")
    table = Table(title="journey steps")
    for c in ("step", "type", "reached", "at now"):
        table.add_column(c, justify="left" if c in ("step", "type") else "right")
    for s in journey.get("steps") or []:
        table.add_row(str(s["id"]), str(s["type"]), str(s.get("reached", 0)),
                      str(s["at"]) if "at" in s else "-")
    console.print(table)


def print_arms(console: Any, per_arm: dict[str, Any]) -> None:
    """Per arm: members (share / configured), conversion and revenue per member with their
    95 % intervals and the difference to the holdout; then the SRM check."""
    from rich.table import Table

    table = Table(title=f"per arm, {per_arm['from']} .. {per_arm['to']} ({per_arm['timezone']})"
                        " · 95 % intervals")
    for c in ("arm", "members", "share / split", "converters", "conversion", "vs holdout pts",
              "revenue / member ¥", "vs holdout ¥"):
        table.add_column(c, justify="left" if c == "arm" else "right")
    for r in per_arm["arms"]:
        vs = r["vs_holdout"] or {}
        table.add_row(
            r["arm"], str(r["members"]), f"{_pct(r['share'])} / {_pct(r['expected_share'])}",
            str(r["converters"]), _interval(r["conversion"], "rate", _pct),
            _interval(vs.get("conversion"), "lift", _pts),
            _interval(r["revenue_per_member"], "mean", _yuan),
            _interval(vs.get("revenue_per_member"), "diff", _yuan))
    console.print(table)
    srm = per_arm["srm"]
    if srm["status"] == "not_applicable":
        return
    head = f"SRM: {srm['status']}"
    if srm["p_value"] is not None:
        head += f" (chi2 {srm['chi2']}, df {srm['df']}, p {srm['p_value']:.3g})"
    style = "bold red" if srm["flagged"] else None
    console.print(head, style=style)
    console.print(srm["message_zh"], style=style)
    console.print(srm["message_en"], style=style)


def _interval(got: dict[str, Any] | None, key: str, fmt: Any) -> str:
    """``value [low, high]`` of an estimate (``-`` when there is none)."""
    x = (got or {}).get(key)
    if got is None or x is None:
        return "-"
    lo, hi = got.get("ci_low"), got.get("ci_high")
    return fmt(x) if lo is None or hi is None else f"{fmt(x)} [{fmt(lo)}, {fmt(hi)}]"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _pts(x: float) -> str:
    return f"{x * 100:+.1f}"


def _yuan(fen: float) -> str:
    return f"{fen / 100:.2f}"


# --- outbox -----------------------------------------------------------------------------------

def outbox_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """moto's /moto-api/data.json → [{channel, to, title, body}] (phones masked)."""
    out: list[dict[str, Any]] = []
    sns = data.get("sns", {})
    for ep in sns.get("PlatformEndpoint", []):
        for mid, raw in (ep.get("messages") or {}).items():
            title, body = _push_text(raw)
            out.append({"channel": "push", "to": ep.get("custom_user_data") or "?",
                        "device": _device_id(ep), "title": title, "body": body,
                        "message_id": mid})
    for sms in sns.get("SMS", []):
        out.append({"channel": "sms", "to": mask(str(sms.get("phone_number", ""))),
                    "title": "", "body": sms.get("message", ""),
                    "message_id": sms.get("message_id")})
    return out


def _device_id(endpoint: dict[str, Any]) -> str:
    """The device's opaque id (what the API shows), never its push token."""
    from chalicelib.adapters.keys import device_hash

    return device_hash(str(endpoint.get("token", "")))


def _push_text(raw: str) -> tuple[str, str]:
    try:
        outer = json.loads(raw)
        gcm = json.loads(outer.get("GCM", "{}"))
        note = gcm.get("notification", {})
        return str(note.get("title", "")), str(note.get("body", outer.get("default", "")))
    except (ValueError, AttributeError):
        return "", raw


def mask(phone: str) -> str:
    return phone[:4] + "*" * max(0, len(phone) - 8) + phone[-4:] if len(phone) > 8 else "****"


# moto serves its whole state (every queue's messages too) as one JSON dump, from the stack's
# own process where the runner's threads compete for the GIL: on a busy machine 10 s was not
# enough and `perks outbox` failed while the stack was fine.
MOTO_DUMP_TIMEOUT = 60.0


def _moto_data() -> dict[str, Any]:
    from chalicelib.config import get_settings

    endpoint = get_settings().sns_endpoint
    if endpoint:
        import urllib.request

        url = endpoint.rstrip("/") + "/moto-api/data.json"
        with urllib.request.urlopen(url, timeout=MOTO_DUMP_TIMEOUT) as resp:  # noqa: S310
            data: dict[str, Any] = json.loads(resp.read())
            return data
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns import sns_backends

    backend = sns_backends[DEFAULT_ACCOUNT_ID][get_settings().region]
    return {"sns": {
        "PlatformEndpoint": [{"custom_user_data": e.custom_user_data, "token": e.token,
                              "messages": dict(e.messages)}
                             for e in backend.platform_endpoints.values()],
        "SMS": [{"message_id": k, "phone_number": p, "message": m}
                for k, (p, m) in backend.sms_messages.items()]}}


def outbox_cmd(args: argparse.Namespace) -> int:
    _stage(args)
    try:
        entries = outbox_entries(_moto_data())
    except OSError as e:  # a read timeout is a TimeoutError; urllib wraps a connect one
        if TimeoutError in (type(e), type(getattr(e, "reason", None))):
            print(f"error: the local SNS (moto) did not answer within {MOTO_DUMP_TIMEOUT:g} s;"
                  " the stack is busy, try again", file=sys.stderr)
        else:
            print(f"error: cannot reach the local SNS (is `make run` running?): {e}",
                  file=sys.stderr)
        return 1
    entries = entries[-args.limit:] if args.limit else entries
    if args.json:
        for entry in entries:
            print(json.dumps(entry, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"outbox: {len(entries)} message(s)")
    for c in ("channel", "to", "title", "body"):
        table.add_column(c)
    for entry in entries:
        table.add_row(entry["channel"], entry["to"], entry["title"], entry["body"])
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    return 0
