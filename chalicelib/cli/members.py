"""`perks members ...`: member maintenance.

    perks members backfill-summary   one-off move of existing members to the audience summary:
                                     LOYALTY gets the profile copy and the member index (GSI3)
                                     entry, PROFILE leaves the index (idempotent)
    perks members reindex            the same (its former name)
"""

from __future__ import annotations

import argparse

from chalicelib.cli._shared import stack_options, target_stage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("members", help="member maintenance (audience summary backfill)")
    cmds = p.add_subparsers(dest="members_command", required=True)
    for name, text in (("backfill-summary", "give existing members the audience summary on "
                        "LOYALTY (one member index entry each)"),
                       ("reindex", "former name of backfill-summary")):
        r = cmds.add_parser(name, help=text)
        stack_options(r)
        r.set_defaults(func=backfill_summary)


def backfill_summary(args: argparse.Namespace) -> int:
    target_stage(args)
    from chalicelib.services.members import index as member_index

    out = member_index.backfill_summary()
    print(f"audience summary: {out['members']:,} members, {out['updated']:,} moved, "
          f"{out['unchanged']:,} already moved, {out['missing']:,} gone")
    return 0
