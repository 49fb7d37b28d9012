"""`perks inbox backfill-unread`: the one-off migration to per-message unread markers."""

from __future__ import annotations

import argparse
import json

from chalicelib.cli._shared import stack_options, target_stage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inbox", help="inbox maintenance")
    cmds = p.add_subparsers(dest="inbox_command", required=True)
    b = cmds.add_parser("backfill-unread", help="write unread markers for messages stored "
                        "before them and delete the old INBOXSTATE counters (once, after "
                        "upgrading; safe to repeat)")
    b.add_argument("--segments", type=int, default=4, help="parallel Scan segments")
    stack_options(b)
    b.set_defaults(func=backfill_unread)


def backfill_unread(args: argparse.Namespace) -> int:
    target_stage(args)  # the global --stage, else the local stack (dev)
    from chalicelib.services.delivery import inbox

    report = inbox.backfill_unread(max(1, args.segments))
    print(json.dumps(report))
    return 0
