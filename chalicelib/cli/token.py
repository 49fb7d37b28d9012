"""`perks token --role member --sub m-1`: mint a local HS256 bearer token."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("token", help="mint a bearer token for the local stack")
    p.add_argument("--role", action="append", required=True,
                   choices=["member", "service", "marketer", "admin"],
                   help="role to grant (repeat for several)")
    p.add_argument("--sub", default=None, help="subject: the member id for member tokens")
    p.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chalicelib.api.auth import mint
    from chalicelib.config import get_settings

    if args.stage is None:
        from chalicelib.cli._shared import use_stage

        use_stage("dev")
    if not get_settings().jwt_secret:
        print("error: no JWT_SECRET for this stage (HS256 tokens are for local/test stages)")
        return 2
    sub = args.sub or ("m-1" if "member" in args.role else f"{args.role[0]}-cli")
    print(mint(sub, sorted(set(args.role)), ttl_seconds=args.ttl))
    return 0
