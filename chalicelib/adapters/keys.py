"""Every partition, sort and index key Perks writes is built here and nowhere else.

Single-table layout (see README "Data model"):

    PK                         SK                          GSI1 (PK / SK)                      GSI2 (PK / SK)
    MEMBER#<id>                PROFILE                     BDAY#<MM-DD> / <tz>#<id>           -
    MEMBER#<id>                DEVICE#<token-hash>         -                                   -
    MEMBER#<id>                LOYALTY                     REVIEW#<date> / <id>                LASTORDER#<date> / <tz>#<id>
    MEMBER#<id>                LOT#<expires>#<lot>         LOTEXP#<date> / <id>#<lot>         -
    MEMBER#<id>                LEDGER#<ts>#<entry>         -                                   -
    MEMBER#<id>                COUPON#<coupon>             -                                   -
    MEMBER#<id>                CLAIMS#<template>           -                                   -
    MEMBER#<id>                INBOX#<ts>#<msg>            -                                   -
    ORDER#<order>              ORDER | REFUND#<refund>     -                                   -
    PROGRAM                    CURRENT | V#<n>             -                                   -
    TEMPLATE#<id>              CURRENT | V#<n> | STOCK#<k> CATALOG#TEMPLATE / <id>            -
    REWARD#<id>                CURRENT                     CATALOG#REWARD / <id>              -
    CODE#<code>                CODE                        CODEBATCH#<tpl>#<batch> / <code>   -
    RESERVATION#<order>        RESERVATION                 -                                   -
    CAMPAIGN#<id>              CURRENT | V#<n> | BUDGET    CATALOG#CAMPAIGN / <id>            CAMPAIGNSTATUS#<status> / <id>
    SEND#<campaign>#<occ>#<m>  SEND                        -                                   -
    AUDIT#<yyyy-mm>            <ts>#<id>                   -                                   -
"""

from __future__ import annotations

import hashlib

MEMBER = "MEMBER#"
PROFILE = "PROFILE"
DEVICE = "DEVICE#"
LOYALTY = "LOYALTY"
GSI1 = "GSI1"
GSI2 = "GSI2"
# Attributes that place an item in an index; removing them takes it out (sparse indexes).
GSI_ATTRS = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
TTL_ATTR = "ttl_epoch"


def member_pk(member_id: str) -> str:
    return f"{MEMBER}{member_id}"


def member_profile(member_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": PROFILE}


def birthday_index(month_day: str, timezone: str, member_id: str) -> dict[str, str]:
    """GSI1 entry that lets the scheduler find one day's celebrants per timezone by key."""
    return {"GSI1PK": birthday_partition(month_day), "GSI1SK": f"{timezone}#{member_id}"}


def birthday_partition(month_day: str) -> str:
    return f"BDAY#{month_day}"


def device_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def member_device(member_id: str, token: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{DEVICE}{device_hash(token)}"}


def audit(month: str, sort: str) -> dict[str, str]:
    return {"PK": f"AUDIT#{month}", "SK": sort}


# --- loyalty (program, points, tiers, orders, rewards) ---------------------------------


# --- coupons (templates, wallet, codes, reservations, stock shards) ---------------------


# --- campaigns (definitions, versions, audit) ----------------------------------------------


# --- delivery (send records, stats, inbox, caps, budgets, scheduler cursors) ---------------
