"""`perks members ...`: member maintenance.

    perks members reindex     one-off backfill of the member index (GSI3) that preview and
                              audiences sample: every existing member's PROFILE and LOYALTY
"""

from __future__ import annotations

import argparse

from chalicelib.cli._shared import stack_options, target_stage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("members", help="member maintenance (index backfill)")
    cmds = p.add_subparsers(dest="members_command", required=True)
    r = cmds.add_parser("reindex", help="give existing members the member index attributes")
    stack_options(r)
    r.set_defaults(func=reindex)


def reindex(args: argparse.Namespace) -> int:
    target_stage(args)
    from chalicelib.services.members import index as member_index

    out = member_index.reindex()
    print(f"reindexed {out['members']:,} members ({out['items']:,} items)")
    return 0
