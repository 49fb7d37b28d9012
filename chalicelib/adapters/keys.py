"""Every partition, sort and index key Perks writes is built here and nowhere else.

Single-table layout (docs/data-model.md renders this table at build time, docs/hooks.py):

    PK                         SK                          GSI1 (PK / SK)                      GSI2 (PK / SK)
    MEMBER#<id>                PROFILE                     BDAY#<MM-DD> / <tz>#<id>           PHONE#<phone-hmac> / <id>
    MEMBER#<id>                DEVICE#<device-id>          -                                   -
    DEVICEOWNER#<device-id>    OWNER (the one member holding the token; device id = token hash)
    MEMBER#<id>                LOYALTY                     REVIEW#<date>#<s> / <id>            LASTORDER#<date>#<s> / <tz>#<id>
                               (LOYALTY is the audience summary: profile copy, facts; also GSI3 MEMBERS#<bucket> / <h>#<id>, the member index)
    MEMBER#<id>                LOT#<expires>#<lot>         LOTEXP#<date>#<s> / <id>#<lot>     -
    (<s>: the member's date shard 00..15, see DATE_SHARDS; legacy unsharded keys are read too)
    MEMBER#<id>                LEDGER#<ts>#<entry>         -                                   -
    MEMBER#<id>                REDEEM#<ts>#<redemption>    -                                   -
    FULFIL#<id>                FULFIL (a gift to send)     FULFIL#<status>#<s> / <ts>#<id>    MEMBERGIFTS#<member> / <ts>#<id>
    FULFIL#<id>                HOOK#<event> (partner webhook owed)  -                          GIFTHOOK#<s> / <retry-at>#<id>#<event> (while pending)
    MEMBER#<id>                PERK#GIFT#<tier> | PERK#MONTH#<yyyy-mm> (tier perk grant records: exactly once)
    MEMBER#<id>                PERKS                       PERKS#<s> / <tz>#<id>              -
    MEMBER#<id>                COUPON#<coupon>             -                                   -
    MEMBER#<id>                CLAIMS#<template>           -                                   -
    MEMBER#<id>                CODEFAIL#<yyyymmddhh> (failed code attempts; TTL)
    MEMBER#<id>                INBOX#<ts>#<msg>            -                                   -
    ORDER#<order>              ORDER | REFUND#<refund>     -                                   -
    PROGRAM                    CURRENT | V#<n>             -                                   -
    TEMPLATE#<id>              CURRENT | V#<n> | STOCK#<k> CATALOG#TEMPLATE / <id>            -
    TEMPLATE#<id>              BATCH#<b> | FUNNEL#<k> (code batches; claim/reserve/redeem counter shards)
    REWARD#<id>                STOCK#<shard> (redemption counters; stock is in the program; STOCK legacy)
    LOYALTYJOB                 expiry | review (cursors)   -                                   -
    CODE#<code>                CODE                        CODEBATCH#<tpl>#<batch> / <code>   -
    RESERVATION#<order>        RESERVATION                 -                                   -
    CAMPAIGN#<id>              CURRENT | V#<n> | BUDGET    CATALOG#CAMPAIGN / <id>            CAMPAIGNSTATUS#<status> / <id>
    MEMBER#<id>                SEND#<campaign>#<occ>       -                                   -
    MEMBER#<id>                CAP#<class>#<period> | LIMIT#<campaign>#<period> | INBOXUNREAD#<ttl>#<msg> | ATTR#<order>#<campaign>#<occ>
    MEMBER#<id>                REDEEMED#<coupon> (a campaign coupon's redemption, counted once)
    MEMBER#<id>                DUE#<campaign>#<occ>#<n>    -                                   DUE#<quarter>#<shard> / <due>#<campaign>#<id>
    MEMBER#<id>                JOURNEY#<campaign>  (journey state: entry, resting step, due, seq; moved conditionally)
    MEMBER#<id>                OUTBOX#<campaign>#<occ>#<channel>  -                            OUTBOX#PENDING#<shard> / <retry-at>#<campaign>#<occ>#<id>#<channel> (while pending)
    CAMPAIGN#<id>              STATS#<occ>#<shard> | BUDGET#<shard> (BUDGET legacy) | BROADCAST#<occ>
    CAMPAIGN#<id>              DAY#<yyyy-mm-dd>#<shard> (daily results) | RECENT#<shard> (list sparkline)
    CAMPAIGN#<id>              JOURNEY#<shard>   (journey step counters: entered, at/reached per step, exited, completed)
    CAMPAIGN#<id>              PREVIEWJOB#<job>  (exact audience count of a preview; TTL)
    CAMPAIGN#<id>              PREVIEWSLOT#<n>   (an open count job's slot; lease, TTL)
    SEGMENT#<slug>             CURRENT | V#<n>             CATALOG#SEGMENT / <slug>           -
    SEGMENT#<slug>             SIZE#<yyyy-Www>  (weekly size estimate snapshot)
    SCHEDULER                  CURSOR                      -                                   -
    MEMBER#<id>                REFERRAL (code, counts) | REFERREDBY (the referee's referrer) | REFCAP#<yyyy-mm> (accepted sign-ups)
    MEMBER#<id>                REFEREE#<referee>           -                                   REFDUE#<s> / <due>#<referrer>#<referee> (while pending|qualified)
    REFCODE#<code>             REFCODE                     -                                   -
    REFERRALS                  STATS#<shard>               -                                   -
    AUDIT#<yyyy-mm>            <ts>#<id>                   -                                   -
    REQUEST#<scoped-key-hash>  REQUEST (effect of a keyed request; TTL = idempotency window)
    DRAW#<id>                  CURRENT | V#<n> | SEED      CATALOG#DRAW / <id>                -
    DRAWPOOL#<id>#<k>          POOL (a lucky draw's stock and budget shard k: hot counters spread)
    MEMBER#<id>                DRAWENTRY#<draw>#<entry>    DRAWLOG#<draw>#<s> / <at>#<entry> -
    MEMBER#<id>                DRAWLIMIT#<draw>#TOTAL | DRAWLIMIT#<draw>#DAY#<date> | DRAWGRANT#<draw> | DRAWGRANTREF#<draw>#<ref>
    MEMBER#<id>                CHECKIN | CHECKIN#<yyyy-mm-dd> (check-in streak state; one record per day checked in or made up)
    CHECKINSTAT#<s>            <yyyy-mm-dd> (check-in counters per member-local day; 16 shards by member)
    ACTIVITY#<type>#<key-hash> ACTIVITY (an activity's natural key: awarded or capped, once, forever)
    MEMBER#<id>                ACTCAP#<type>#<yyyy-mm-dd> | ACTCAP#<type>#<yyyy-mm> (awarded activities per local day/month)
    ACTSTAT#<s>                <yyyy-mm-dd> (activity counters per day and type; 16 shards by member)
"""

from __future__ import annotations

import hashlib
import hmac

MEMBER = "MEMBER#"
PROFILE = "PROFILE"
DEVICE = "DEVICE#"
LOYALTY = "LOYALTY"
GSI1 = "GSI1"
GSI2 = "GSI2"
GSI3 = "GSI3"
# Attributes that place an item in an index; removing them takes it out (sparse indexes).
GSI_ATTRS = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK")
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


# Local stages without DEVICE_ID_SECRET (a bare CLI, a test subprocess) still get stable ids;
# prod never falls back to it.
DEV_DEVICE_ID_SECRET = "perks-dev-device-id-secret"


def device_hash(token: str) -> str:
    """A push token's opaque device id: an HMAC keyed with a server secret, so nobody who
    learns an id can confirm a guessed token (a plain hash could be checked offline)."""
    from chalicelib.config import get_settings

    s = get_settings()
    secret = s.device_id_secret
    if not secret:
        if s.stage == "prod":
            raise RuntimeError("DEVICE_ID_SECRET is not set (the DeviceIdSecret parameter)")
        secret = DEV_DEVICE_ID_SECRET
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]


# --- contact index (GSI2 on PROFILE): an inbound SMS reply finds its members by phone -------
# The phone never appears in a key: the partition is an HMAC of it under a server secret
# (CONTACT_HASH_SECRET), so the index cannot be read back into numbers. A phone may belong
# to several members (a family shares one); all of them are found.
PHONE = "PHONE#"
DEV_CONTACT_HASH_SECRET = "perks-dev-contact-hash-secret"


def contact_hash(kind: str, value: str) -> str:
    """The opaque, keyed hash of a contact (``kind``: phone) used in index keys."""
    from chalicelib.config import get_settings

    s = get_settings()
    secret = s.contact_hash_secret
    if not secret:
        if s.stage == "prod":
            raise RuntimeError("CONTACT_HASH_SECRET is not set (the ContactHashSecret parameter)")
        secret = DEV_CONTACT_HASH_SECRET
    return hmac.new(secret.encode(), f"{kind}\x1f{value}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def phone_partition(phone: str) -> str:
    return f"{PHONE}{contact_hash('phone', phone)}"


def phone_index(phone: str, member_id: str) -> dict[str, str]:
    """GSI2 entry of a PROFILE with a phone: inbound SMS replies find the member by key."""
    return {"GSI2PK": phone_partition(phone), "GSI2SK": member_id}


def member_device(member_id: str, token: str) -> dict[str, str]:
    return member_device_id(member_id, device_hash(token))


def member_device_id(member_id: str, device_id: str) -> dict[str, str]:
    """A member's device by its opaque id (the token hash): what the API addresses."""
    return {"PK": member_pk(member_id), "SK": f"{DEVICE}{device_id}"}


def device_owner(device_id: str) -> dict[str, str]:
    """Which member holds a push token now: one member per token at a time."""
    return {"PK": f"DEVICEOWNER#{device_id}", "SK": "OWNER"}


def audit(month: str, sort: str) -> dict[str, str]:
    return {"PK": f"AUDIT#{month}", "SK": sort}


def request_guard(request_key: str) -> dict[str, str]:
    """The create-only record of a keyed request's effect (see api/http.py Ctx.request_key)."""
    return {"PK": f"REQUEST#{request_key}", "SK": "REQUEST"}


# --- loyalty (program, points, tiers, orders, rewards) ---------------------------------
# Open lots sort by expiry under LOT#, so "earliest-expiring first" is a key-ordered Query,
# and [LOT#, LOYALTY] is one key range: GET /me/points reads lots + LOYALTY in one Query.
# Fully used or expired lots are deleted (the ledger keeps their history).
LOT = "LOT#"
LEDGER = "LEDGER#"
REDEMPTION = "REDEEM#"
ORDER = "ORDER#"
REFUND = "REFUND#"
PROGRAM = "PROGRAM"
PROGRAM_VERSION = "V#"


def member_loyalty(member_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": LOYALTY}


def loyalty_range() -> tuple[str, str]:
    """SK bounds (inclusive) covering a member's open lots and the LOYALTY item."""
    return LOT, LOYALTY


# Date-keyed index partitions written per order (last order, lot expiry, tier review) are
# spread over DATE_SHARDS keys by a hash of the member, as DUE# is: on a sale day every order
# would otherwise queue behind one GSI partition key (about 1,000 writes/s) and throttle the
# base table. 16 shards keep any one key near 1/16 of a day's writes (bench/sale.py: <= 10 %).
# A member always lands on the same shard, so one member's lots stay together (the expiry job
# groups them). Readers query every shard in parallel plus the unsharded legacy key, which
# holds items written before sharding until they are rewritten (docs/data-model-sale.md).
DATE_SHARDS = 16
REVIEW = "REVIEW#"
LAST_ORDER = "LASTORDER#"
LOT_EXPIRY = "LOTEXP#"


def date_shard(member_id: str) -> int:
    return _shard(member_id, DATE_SHARDS)


def _dated(prefix: str, local_date: str, shard: int) -> str:
    return f"{prefix}{local_date}#{shard:02d}"


def _dated_all(prefix: str, local_date: str) -> list[str]:
    """Every shard of a date, then the legacy unsharded key."""
    return [_dated(prefix, local_date, s) for s in range(DATE_SHARDS)] + [
        f"{prefix}{local_date}"]


def review_partition(local_date: str) -> str:
    """The legacy unsharded key (still read; no longer written)."""
    return f"{REVIEW}{local_date}"


def review_partitions(local_date: str) -> list[str]:
    return _dated_all(REVIEW, local_date)


def review_index(local_date: str, member_id: str) -> dict[str, str]:
    """GSI1 on LOYALTY: members whose tier is reviewed on ``local_date`` (program tz)."""
    return {"GSI1PK": _dated(REVIEW, local_date, date_shard(member_id)), "GSI1SK": member_id}


def last_order_partition(local_date: str) -> str:
    """The legacy unsharded key (still read; no longer written)."""
    return f"{LAST_ORDER}{local_date}"


def last_order_partitions(local_date: str) -> list[str]:
    return _dated_all(LAST_ORDER, local_date)


def last_order_index(local_date: str, timezone: str, member_id: str) -> dict[str, str]:
    """GSI2 on LOYALTY: members whose last order was on ``local_date`` in their timezone."""
    return {"GSI2PK": _dated(LAST_ORDER, local_date, date_shard(member_id)),
            "GSI2SK": f"{timezone}#{member_id}"}


def member_lot(member_id: str, expires_at: str, lot_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{LOT}{expires_at}#{lot_id}"}


def lot_expiry_partition(local_date: str) -> str:
    """The legacy unsharded key (still read; no longer written)."""
    return f"{LOT_EXPIRY}{local_date}"


def lot_expiry_partitions(local_date: str) -> list[str]:
    return _dated_all(LOT_EXPIRY, local_date)


def lot_expiry_index(local_date: str, member_id: str, lot_id: str) -> dict[str, str]:
    """GSI1 on a lot: lots expiring at 00:00 of ``local_date`` (program tz), by member."""
    return {"GSI1PK": _dated(LOT_EXPIRY, local_date, date_shard(member_id)),
            "GSI1SK": f"{member_id}#{lot_id}"}


def member_ledger(member_id: str, at_iso: str, entry_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{LEDGER}{at_iso}#{entry_id}"}


def member_redemption(member_id: str, at_iso: str, redemption_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{REDEMPTION}{at_iso}#{redemption_id}"}


def order(order_id: str) -> dict[str, str]:
    return {"PK": f"{ORDER}{order_id}", "SK": "ORDER"}


def order_refund(order_id: str, refund_id: str) -> dict[str, str]:
    return {"PK": f"{ORDER}{order_id}", "SK": f"{REFUND}{refund_id}"}


def program_current() -> dict[str, str]:
    return {"PK": PROGRAM, "SK": "CURRENT"}


def program_version(version: int) -> dict[str, str]:
    return {"PK": PROGRAM, "SK": f"{PROGRAM_VERSION}{version:06d}"}


def reward_stock(reward_id: str) -> dict[str, str]:
    """The legacy unsharded redemption counter (still counted in totals; no longer written)."""
    return {"PK": f"REWARD#{reward_id}", "SK": "STOCK"}


# Reward redemptions count on REWARD_SHARDS items (stock itself is defined in the program):
# each shard may count up to its exact share of the stock (domain.coupons.stock.split); a
# redemption uses its member's shard and falls back to another with room when it is full.
REWARD_SHARDS = 8


def reward_shard(member_id: str) -> int:
    return _shard(member_id, REWARD_SHARDS)


def reward_stock_shard(reward_id: str, shard: int) -> dict[str, str]:
    return {"PK": f"REWARD#{reward_id}", "SK": f"STOCK#{shard:02d}"}


def loyalty_job_cursor(job: str) -> dict[str, str]:
    """Last local date a loyalty job (expiry, review) fully processed."""
    return {"PK": "LOYALTYJOB", "SK": job}


# --- tier perks (grant records, the holders index) -------------------------------------
# PERK#GIFT#<tier> records that a member had a tier's upgrade gift, PERK#MONTH#<yyyy-mm> how
# many of a member-local month's free-shipping coupons were issued (conditional writes make
# each grant happen once). PERKS marks a member above the base tier, indexed on GSI1 by
# date-free hash shard and time zone, so the monthly job reads only the members whose local
# month just began, with key queries (begins_with "<tz>#") on every shard.
PERK = "PERK#"
PERK_HOLDERS = "PERKS#"
PERK_HOLDER_SHARDS = 16


def perk_grant(member_id: str, kind: str, ident: str) -> dict[str, str]:
    """A grant record: kind ``GIFT`` (ident = tier id) or ``MONTH`` (ident = yyyy-mm)."""
    return {"PK": member_pk(member_id), "SK": f"{PERK}{kind}#{ident}"}


def perk_holder(member_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": "PERKS"}


def perk_holder_partitions() -> list[str]:
    return [f"{PERK_HOLDERS}{s:02d}" for s in range(PERK_HOLDER_SHARDS)]


def perk_holder_index(timezone: str, member_id: str) -> dict[str, str]:
    """GSI1 on PERKS: tiered members by shard, then time zone (a key range per zone)."""
    return {"GSI1PK": perk_holder_partitions()[_shard(member_id, PERK_HOLDER_SHARDS)],
            "GSI1SK": f"{timezone}#{member_id}"}


def loyalty_issued_coupon(member_id: str, coupon_id: str) -> dict[str, str]:
    """Fallback wallet coupon written by loyalty when the coupons service is absent."""
    return {"PK": member_pk(member_id), "SK": f"COUPON#{coupon_id}"}



# --- coupons (templates, wallet, codes, reservations, stock shards) ---------------------
# TEMPLATE#<id>: CURRENT (definition, version), V#<n> (history), STOCK#<k> (stock shards; a
# claim decrements one), BATCH#<b> (code batches). In the member partition: COUPON#<id>
# (wallet; ids start with the issue time), CLAIMS#<template> (claims counter),
# CODEFAIL#<yyyymmddhh> (failed code attempts, TTL). CODE#<code>: one code, listed per batch
# on GSI1. RESERVATION#<order>: one checkout hold.
TEMPLATE = "TEMPLATE#"
TEMPLATE_CURRENT = "CURRENT"
TEMPLATE_VERSION = "V#"
TEMPLATE_CATALOG = "CATALOG#TEMPLATE"
STOCK = "STOCK#"
BATCH = "BATCH#"
COUPON = "COUPON#"
CLAIMS = "CLAIMS#"
CODE_FAILURES = "CODEFAIL#"
FUNNEL = "FUNNEL#"
FUNNEL_SHARDS = 10


def template_pk(template_id: str) -> str:
    return f"{TEMPLATE}{template_id}"


def template_current(template_id: str) -> dict[str, str]:
    return {"PK": template_pk(template_id), "SK": TEMPLATE_CURRENT}


def template_version(template_id: str, version: int) -> dict[str, str]:
    return {"PK": template_pk(template_id), "SK": f"{TEMPLATE_VERSION}{version:06d}"}


def template_catalog(template_id: str) -> dict[str, str]:
    """GSI1 entry on CURRENT: the coupon center and admin list every template by key."""
    return {"GSI1PK": TEMPLATE_CATALOG, "GSI1SK": template_id}


def template_stock(template_id: str, shard: int) -> dict[str, str]:
    return {"PK": template_pk(template_id), "SK": f"{STOCK}{shard:03d}"}


def template_batch(template_id: str, batch_id: str) -> dict[str, str]:
    return {"PK": template_pk(template_id), "SK": f"{BATCH}{batch_id}"}


def template_funnel(template_id: str, member_id: str) -> dict[str, str]:
    """A claim/reserve/redeem counter shard of a template, picked by the member so concurrent
    members spread out (one member's coupons of a template share a shard: one item per
    transaction)."""
    return {"PK": template_pk(template_id),
            "SK": f"{FUNNEL}{_shard(member_id, FUNNEL_SHARDS):02d}"}


def member_coupon(member_id: str, coupon_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{COUPON}{coupon_id}"}


def member_claims(member_id: str, template_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{CLAIMS}{template_id}"}


def code_failures(member_id: str, hour: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{CODE_FAILURES}{hour}"}


def coupon_code(code: str) -> dict[str, str]:
    return {"PK": f"CODE#{code}", "SK": "CODE"}


def code_batch_partition(template_id: str, batch_id: str) -> str:
    return f"CODEBATCH#{template_id}#{batch_id}"


def code_batch_index(template_id: str, batch_id: str, code: str) -> dict[str, str]:
    """GSI1 entry on a code: the CSV export reads a batch with one paginated Query."""
    return {"GSI1PK": code_batch_partition(template_id, batch_id), "GSI1SK": code}


def reservation(order_id: str) -> dict[str, str]:
    return {"PK": f"RESERVATION#{order_id}", "SK": "RESERVATION"}



# --- campaigns (definitions, versions, audit) ----------------------------------------------
CAMPAIGN = "CAMPAIGN#"
CURRENT = "CURRENT"
CAMPAIGN_VERSION = "V#"
CAMPAIGN_CATALOG = "CATALOG#CAMPAIGN"
CAMPAIGN_STATUS = "CAMPAIGNSTATUS#"
AUDIT = "AUDIT#"


def version_sk(version: int) -> str:
    """The sort key of a stored version of a versioned document (campaign, segment, draw)."""
    return f"{CAMPAIGN_VERSION}{version:06d}"


SEGMENT = "SEGMENT#"
SEGMENT_CATALOG = "CATALOG#SEGMENT"
SEGMENT_SIZE = "SIZE#"


def segment_pk(slug: str) -> str:
    return f"{SEGMENT}{slug}"


def segment_current(slug: str) -> dict[str, str]:
    return {"PK": segment_pk(slug), "SK": "CURRENT"}


def segment_version(slug: str, version: int) -> dict[str, str]:
    return {"PK": segment_pk(slug), "SK": version_sk(version)}


def segment_catalog(slug: str) -> dict[str, str]:
    """GSI1 entry: every segment is listed with one Query on CATALOG#SEGMENT."""
    return {"GSI1PK": SEGMENT_CATALOG, "GSI1SK": slug}


def segment_size(slug: str, week: str) -> dict[str, str]:
    """One weekly size estimate (``week`` ISO, e.g. 2026-W48)."""
    return {"PK": segment_pk(slug), "SK": f"{SEGMENT_SIZE}{week}"}


def campaign_pk(campaign_id: str) -> str:
    return f"{CAMPAIGN}{campaign_id}"


def campaign_current(campaign_id: str) -> dict[str, str]:
    """The live definition the scheduler and workers read."""
    return {"PK": campaign_pk(campaign_id), "SK": CURRENT}


def campaign_version(campaign_id: str, version: int) -> dict[str, str]:
    """An immutable past version (zero-padded so versions sort numerically)."""
    return {"PK": campaign_pk(campaign_id), "SK": version_sk(version)}


def campaign_catalog(campaign_id: str) -> dict[str, str]:
    """GSI1 entry listing every campaign by key (GET /admin/campaigns)."""
    return {"GSI1PK": CAMPAIGN_CATALOG, "GSI1SK": campaign_id}


def campaign_status_partition(status: str) -> str:
    return f"{CAMPAIGN_STATUS}{status}"


def campaign_status_index(status: str, campaign_id: str) -> dict[str, str]:
    """GSI2 entry: the scheduler lists active campaigns with one Query on CAMPAIGNSTATUS#active."""
    return {"GSI2PK": campaign_status_partition(status), "GSI2SK": campaign_id}


def audit_month_partition(month: str) -> str:
    return f"{AUDIT}{month}"


def audit_entry(at_iso: str, entity: str, entity_id: str, nonce: str) -> dict[str, str]:
    """AUDIT#<yyyy-mm> / <ts>#<entity>#<id>#<nonce>: newest-first queries per month."""
    return audit(at_iso[:7], f"{at_iso}#{entity}#{entity_id}#{nonce}")



# --- delivery (send records, stats, inbox, caps, budgets, scheduler cursors) ---------------
# Send records, caps, limits, inbox, attribution and deferred work live in the member's
# partition (erasure and export find them there); stats, budgets and broadcast markers in the
# campaign's. Deferred work is found by the planner through a sharded GSI2 bucket per UTC
# quarter-hour.
SEND = "SEND#"
STATS = "STATS#"
INBOX = "INBOX#"
DUE = "DUE#"
STATS_SHARDS = 10
# 16 (was 4): a sale's night-time orders park their messages into the same morning quarter.
# Readers query every shard below DUE_SHARDS, so work parked under the old count is found.
DUE_SHARDS = 16


def _shard(text: str, n: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % n


def send_record(member_id: str, campaign_id: str, occurrence: str) -> dict[str, str]:
    """The exactly-once marker of (campaign, occurrence, member)."""
    return {"PK": member_pk(member_id), "SK": f"{SEND}{campaign_id}#{occurrence}"}


def campaign_sends(member_id: str, campaign_id: str) -> tuple[str, str]:
    """(PK, SK prefix) of the member's send records of one campaign, every occurrence."""
    return member_pk(member_id), f"{SEND}{campaign_id}#"


def campaign_stats(campaign_id: str, occurrence: str, member_id: str) -> dict[str, str]:
    """A stats counter shard; the member picks the shard so concurrent workers spread out."""
    shard = _shard(member_id, STATS_SHARDS)
    return {"PK": f"CAMPAIGN#{campaign_id}", "SK": f"{STATS}{occurrence}#{shard:02d}"}


# Daily results: one counter item per (campaign, day in the campaign's timezone, shard), so
# a results read for a date range is one Query (SK between two days) over the campaign
# partition; RECENT#<shard> keeps the last days' delivered/redeemed for the list sparkline.
DAY = "DAY#"
RECENT = "RECENT#"
DAY_SHARDS = 10


def campaign_day(campaign_id: str, day: str, member_id: str) -> dict[str, str]:
    """A daily counter shard (``day`` is yyyy-mm-dd in the campaign timezone)."""
    shard = _shard(member_id, DAY_SHARDS)
    return {"PK": campaign_pk(campaign_id), "SK": f"{DAY}{day}#{shard:02d}"}


def campaign_day_range(campaign_id: str, first: str, last: str) -> tuple[str, str, str]:
    """(PK, first SK, last SK) covering every shard of the days ``first``..``last``."""
    return campaign_pk(campaign_id), f"{DAY}{first}#", f"{DAY}{last}#~"


def campaign_recent(campaign_id: str, member_id: str) -> dict[str, str]:
    """The recent-activity shard a member's counts go to."""
    return campaign_recent_shard(campaign_id, _shard(member_id, DAY_SHARDS))


def campaign_recent_shard(campaign_id: str, shard: int) -> dict[str, str]:
    return {"PK": campaign_pk(campaign_id), "SK": f"{RECENT}{shard:02d}"}


# A campaign budget is spread over BUDGET_SHARDS items, like coupon stock: each holds an
# exact share of every limit (domain.coupons.stock.split) and a delivery spends from the shard
# its member hashes to, falling back to another shard with room when that one is exhausted.
# Every delivery of a broadcast would otherwise update one item (~1,000 writes/s at most).
BUDGET_SHARDS = 16
BUDGET_SHARE_MIN = 1000  # units per shard at least: small budgets use fewer shards
BUDGET = "BUDGET"


def campaign_budget(campaign_id: str) -> dict[str, str]:
    """The legacy unsharded budget item (still counted in totals; no longer written)."""
    return {"PK": f"CAMPAIGN#{campaign_id}", "SK": BUDGET}


def budget_shard(member_id: str) -> int:
    return _shard(member_id, BUDGET_SHARDS)


def campaign_budget_shard(campaign_id: str, shard: int) -> dict[str, str]:
    return {"PK": campaign_pk(campaign_id), "SK": f"{BUDGET}#{shard:02d}"}


def broadcast_marker(campaign_id: str, occurrence: str) -> dict[str, str]:
    """Written once a broadcast occurrence's scan segments are enqueued."""
    return {"PK": f"CAMPAIGN#{campaign_id}", "SK": f"BROADCAST#{occurrence}"}


def frequency_cap(member_id: str, cap_class: str, period: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"CAP#{cap_class}#{period}"}


def member_limit(member_id: str, campaign_id: str, period: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"LIMIT#{campaign_id}#{period}"}


def inbox_message(member_id: str, message_id: str) -> dict[str, str]:
    """Message ids start with their UTC timestamp, so the partition sorts newest last."""
    return {"PK": member_pk(member_id), "SK": f"{INBOX}{message_id}"}


INBOX_UNREAD = "INBOXUNREAD#"
# The per-member unread counter the markers replaced; `perks inbox backfill-unread` deletes it.
LEGACY_INBOX_STATE = "INBOXSTATE"


def member_of(pk: str) -> str | None:
    """The member id of a MEMBER#<id> partition key, else None."""
    return pk[len(MEMBER):] if pk.startswith(MEMBER) else None


def inbox_unread(member_id: str, expires_epoch: int, message_id: str) -> dict[str, str]:
    """An unread message's marker, sorted by when the message expires (TTL epoch seconds,
    10 digits), so unexpired unread messages are one key range."""
    return {"PK": member_pk(member_id), "SK": f"{INBOX_UNREAD}{expires_epoch:010d}#{message_id}"}


def inbox_unread_after(member_id: str, epoch: int) -> tuple[str, str, str]:
    """(PK, first SK, last SK) of the unread markers of messages expiring after ``epoch``."""
    return member_pk(member_id), f"{INBOX_UNREAD}{epoch + 1:010d}", f"{INBOX_UNREAD}~"


def inbox_since(member_id: str, first_message_id: str) -> tuple[str, str, str]:
    """(PK, first SK, last SK) of the messages whose time-ordered id is >= the given one."""
    return member_pk(member_id), f"{INBOX}{first_message_id}", f"{INBOX}~"


def attribution(member_id: str, order_id: str, campaign_id: str, occurrence: str
                ) -> dict[str, str]:
    """An order counted once towards a (campaign, occurrence) the member was targeted by."""
    return {"PK": member_pk(member_id), "SK": f"ATTR#{order_id}#{campaign_id}#{occurrence}"}


REDEEMED = "REDEEMED#"


def redemption_marker(member_id: str, coupon_id: str) -> dict[str, str]:
    """A campaign-issued coupon's redemption, counted once in its campaign's results."""
    return {"PK": member_pk(member_id), "SK": f"{REDEEMED}{coupon_id}"}


def due_partition(quarter_iso: str, shard: int) -> str:
    return f"{DUE}{quarter_iso}#{shard}"


def deferred_work(member_id: str, campaign_id: str, occurrence: str, attempt: int,
                  quarter_iso: str, due_iso: str) -> dict[str, str]:
    """Work put off until ``due_iso`` (quiet hours, later local time) and its GSI2 bucket."""
    return {"PK": member_pk(member_id), "SK": f"{DUE}{campaign_id}#{occurrence}#{attempt}",
            "GSI2PK": due_partition(quarter_iso, _shard(member_id, DUE_SHARDS)),
            "GSI2SK": f"{due_iso}#{campaign_id}#{member_id}"}


# Journeys: one state item per (member, campaign journey); step counters on STATS_SHARDS
# shards per campaign (the member picks the shard), read with one Query, never a Scan.
JOURNEY = "JOURNEY#"


def journey_state(member_id: str, campaign_id: str) -> dict[str, str]:
    """Where a member stands in a campaign's journey (moved by conditional writes only)."""
    return {"PK": member_pk(member_id), "SK": f"{JOURNEY}{campaign_id}"}


def journey_stats(campaign_id: str, member_id: str) -> dict[str, str]:
    """A journey step-counter shard of a campaign."""
    return {"PK": f"CAMPAIGN#{campaign_id}",
            "SK": f"{JOURNEY}{_shard(member_id, STATS_SHARDS):02d}"}


def scheduler_cursor() -> dict[str, str]:
    """Where the planner's last completed window ended."""
    return {"PK": "SCHEDULER", "SK": "CURSOR"}


# --- delivery outbox (push/SMS at least once) ------------------------------------------------
# One entry per (campaign, occurrence, member, external channel), written in the delivery
# transaction. While pending it sits in a sparse GSI2 bucket keyed by a hash shard (never a
# date, so no hot partition); its sort key starts with the time it may next be re-sent, so the
# sweeper reads only stale entries with one key query per shard. Sent, failed and dead entries
# drop their GSI2 keys and leave the index.
OUTBOX = "OUTBOX#"
OUTBOX_SHARDS = 8


def outbox_partition(shard: int) -> str:
    return f"{OUTBOX}PENDING#{shard}"


def outbox_entry(member_id: str, campaign_id: str, occurrence: str, channel: str
                 ) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{OUTBOX}{campaign_id}#{occurrence}#{channel}"}


def outbox_index(member_id: str, campaign_id: str, occurrence: str, channel: str,
                 retry_at_iso: str) -> dict[str, str]:
    """GSI2 entry of a pending outbox entry: due for the sweeper at ``retry_at_iso``."""
    shard = _shard(f"{member_id}#{channel}", OUTBOX_SHARDS)
    return {"GSI2PK": outbox_partition(shard),
            "GSI2SK": f"{retry_at_iso}#{campaign_id}#{occurrence}#{member_id}#{channel}"}


# --- member index (GSI3): every member in one of 64 fixed hash buckets ----------------------
# One entry per member: its LOYALTY item, the audience summary (the profile-level copy
# audiences read, loyalty fields, behaviour facts; adapters/members/summary.py), carries
# GSI3PK = MEMBERS#<bucket> and GSI3SK = <h>#<member id>, where <h> is 8 hex digits of another
# slice of the member id's hash. Sorting by <h> (not by id) makes any key range of a bucket a
# uniform random sample of its members, whatever the id scheme (sequential ids would otherwise
# put old members first), and the share of the hash space a range covers estimates how many
# members the bucket holds. The index projects only what audiences, broadcasts and preview
# samples read (infra/template.json). PROFILE items carried the same key before the summary
# (`perks members backfill-summary` takes them out).
MEMBER_BUCKETS = 64
MEMBER_HASH_SPACE = 16 ** 8
MEMBERS = "MEMBERS#"


def member_bucket(member_id: str) -> int:
    return _shard(member_id, MEMBER_BUCKETS)


def member_rank(member_id: str) -> int:
    """The member's place in its bucket, uniform in [0, MEMBER_HASH_SPACE)."""
    return int(hashlib.sha256(member_id.encode()).hexdigest()[8:16], 16)


def member_bucket_partition(bucket: int) -> str:
    return f"{MEMBERS}{bucket:02d}"


def member_rank_key(rank: int) -> str:
    """A GSI3SK bound: every member key of ``rank`` or above sorts at or after it."""
    return f"{rank:08x}"


def member_index(member_id: str) -> dict[str, str]:
    """GSI3 entry of a member's LOYALTY item (its audience summary)."""
    return {"GSI3PK": member_bucket_partition(member_bucket(member_id)),
            "GSI3SK": f"{member_rank_key(member_rank(member_id))}#{member_id}"}


def member_index_id(gsi3sk: str) -> tuple[int, str]:
    """(rank, member id) of a GSI3SK."""
    rank, _, member_id = gsi3sk.partition("#")
    return int(rank, 16), member_id


def preview_job(campaign_id: str, job_id: str) -> dict[str, str]:
    """The background exact count of a preview (its campaign document, then its result)."""
    return {"PK": campaign_pk(campaign_id), "SK": f"PREVIEWJOB#{job_id}"}


def preview_slot(campaign_id: str, slot: int) -> dict[str, str]:
    """One of a campaign's few open preview count slots (held by a job until it finishes or
    its lease lapses): bounds the count jobs a campaign can have running at once."""
    return {"PK": campaign_pk(campaign_id), "SK": f"PREVIEWSLOT#{slot}"}


# --- lucky draws (engagement) ------------------------------------------------------------
# A draw's definition sits under DRAW#<id> like a segment's. Its stock and budget counters
# are spread over DRAWPOOL#<id>#<k> partitions (k < domain.engagement.draws.MAX_SHARDS), so
# concurrent entries do not queue on one item. Entries live in the member's partition (the
# create-only entry id makes a retry collide) and are indexed on GSI1 by draw and a hash
# shard of the entry (DRAW_LOG_SHARDS), the log the verifier reads after the draw closes.
DRAW = "DRAW#"
DRAW_CATALOG = "CATALOG#DRAW"
DRAW_ENTRY = "DRAWENTRY#"
DRAW_LOG = "DRAWLOG#"
DRAW_LOG_SHARDS = 16


def draw_pk(draw_id: str) -> str:
    return f"{DRAW}{draw_id}"


def draw_current(draw_id: str) -> dict[str, str]:
    return {"PK": draw_pk(draw_id), "SK": "CURRENT"}


def draw_version(draw_id: str, version: int) -> dict[str, str]:
    return {"PK": draw_pk(draw_id), "SK": version_sk(version)}


def draw_seed(draw_id: str) -> dict[str, str]:
    return {"PK": draw_pk(draw_id), "SK": "SEED"}


def draw_catalog(draw_id: str) -> dict[str, str]:
    return {"GSI1PK": DRAW_CATALOG, "GSI1SK": draw_id}


def draw_pool(draw_id: str, shard: int) -> dict[str, str]:
    return {"PK": f"DRAWPOOL#{draw_id}#{shard:02d}", "SK": "POOL"}


def draw_entry(member_id: str, draw_id: str, entry_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": f"{DRAW_ENTRY}{draw_id}#{entry_id}"}


def draw_entries_prefix(draw_id: str) -> str:
    return f"{DRAW_ENTRY}{draw_id}#"


def draw_log_partitions(draw_id: str) -> list[str]:
    return [f"{DRAW_LOG}{draw_id}#{s:02d}" for s in range(DRAW_LOG_SHARDS)]


def draw_log_index(draw_id: str, entry_id: str, at_iso: str) -> dict[str, str]:
    """GSI1 on an entry: the draw's entry log, spread over DRAW_LOG_SHARDS partitions."""
    return {"GSI1PK": draw_log_partitions(draw_id)[_shard(entry_id, DRAW_LOG_SHARDS)],
            "GSI1SK": f"{at_iso}#{entry_id}"}


def draw_limit(member_id: str, draw_id: str, day: str | None = None) -> dict[str, str]:
    """A member's entry count: ever (``day`` None) or on one member-local day."""
    return {"PK": member_pk(member_id),
            "SK": f"DRAWLIMIT#{draw_id}#" + (f"DAY#{day}" if day else "TOTAL")}


def draw_grant(member_id: str, draw_id: str) -> dict[str, str]:
    """Entries granted to a member by campaigns (``granted``) and used (``used``)."""
    return {"PK": member_pk(member_id), "SK": f"DRAWGRANT#{draw_id}"}


def draw_grant_ref(member_id: str, draw_id: str, ref: str) -> dict[str, str]:
    """The create-only record of one grant's cause (a campaign send): granted once."""
    return {"PK": member_pk(member_id), "SK": f"DRAWGRANTREF#{draw_id}#{ref}"}


# --- referrals (老带新) ------------------------------------------------------------------------
# The canonical referral sits in its referrer's partition (one item per referee, listed by
# key); the referee holds a pointer (REFERREDBY, at most one referrer). While a referral waits
# for its refund window it sits in a sparse GSI2 bucket keyed by a hash shard of the referee
# (never a date: no hot partition), sorted by the instant it is due.
REFERRAL = "REFERRAL"
REFEREE = "REFEREE#"
REFCODE = "REFCODE#"
REFCAP = "REFCAP#"
REFDUE = "REFDUE#"
REFERRAL_DUE_SHARDS = 8
REFERRAL_STATS_SHARDS = 8


def referral_summary(member_id: str) -> dict[str, str]:
    """A member's own code and counts."""
    return {"PK": member_pk(member_id), "SK": REFERRAL}


def referral_pointer(referee_id: str) -> dict[str, str]:
    """Who referred a member (create-only; a rejected attempt may be replaced)."""
    return {"PK": member_pk(referee_id), "SK": "REFERREDBY"}


def referral(referrer_id: str, referee_id: str) -> dict[str, str]:
    return {"PK": member_pk(referrer_id), "SK": f"{REFEREE}{referee_id}"}


def referral_code(code: str) -> dict[str, str]:
    return {"PK": f"{REFCODE}{code}", "SK": "REFCODE"}


def referral_cap(referrer_id: str, month: str) -> dict[str, str]:
    return {"PK": member_pk(referrer_id), "SK": f"{REFCAP}{month}"}


def referral_due_partition(shard: int) -> str:
    return f"{REFDUE}{shard}"


def referral_due_index(referrer_id: str, referee_id: str, due_iso: str) -> dict[str, str]:
    return {"GSI2PK": referral_due_partition(_shard(referee_id, REFERRAL_DUE_SHARDS)),
            "GSI2SK": f"{due_iso}#{referrer_id}#{referee_id}"}


def referral_stats(shard: int) -> dict[str, str]:
    return {"PK": "REFERRALS", "SK": f"STATS#{shard}"}


def referral_stats_shard(member_id: str) -> int:
    return _shard(member_id, REFERRAL_STATS_SHARDS)
# --- gift fulfilment (issue 14) -----------------------------------------------------------
# A gift's status index is spread over FULFIL_SHARDS keys by a hash of its id: a sale day's
# thousands of ``to_fulfil`` gifts never sit on one partition; the queue reads every shard.
FULFIL = "FULFIL#"
FULFIL_SHARDS = 8
GIFT_HOOK_SHARDS = 4


def fulfilment(fulfilment_id: str) -> dict[str, str]:
    return {"PK": f"{FULFIL}{fulfilment_id}", "SK": "FULFIL"}


def fulfilment_status_partitions(status: str) -> list[str]:
    return [f"{FULFIL}{status}#{s:02d}" for s in range(FULFIL_SHARDS)]


def fulfilment_index(status: str, created_at: str, fulfilment_id: str, member_id: str
                     ) -> dict[str, str]:
    """GSI1 (the operators' queue by status, newest first) and GSI2 (the member's gifts)."""
    shard = _shard(fulfilment_id, FULFIL_SHARDS)
    return {"GSI1PK": fulfilment_status_partitions(status)[shard],
            "GSI1SK": f"{created_at}#{fulfilment_id}",
            "GSI2PK": member_gifts_partition(member_id),
            "GSI2SK": f"{created_at}#{fulfilment_id}"}


def member_gifts_partition(member_id: str) -> str:
    return f"MEMBERGIFTS#{member_id}"


def gift_hook(fulfilment_id: str, event: str) -> dict[str, str]:
    return {"PK": f"{FULFIL}{fulfilment_id}", "SK": f"HOOK#{event}"}


def gift_hook_partitions() -> list[str]:
    return [f"GIFTHOOK#{s}" for s in range(GIFT_HOOK_SHARDS)]


def gift_hook_index(fulfilment_id: str, event: str, retry_at: str) -> dict[str, str]:
    """GSI2 entry of a pending partner webhook, by its retry time (sparse: removed when
    finished)."""
    return {"GSI2PK": gift_hook_partitions()[_shard(fulfilment_id, GIFT_HOOK_SHARDS)],
            "GSI2SK": f"{retry_at}#{fulfilment_id}#{event}"}


def gift_of_hook(pk: str) -> str:
    return pk.removeprefix(FULFIL)


# --- engagement: daily check-in; loyalty: points for activities --------------------------
# Counters for marketers sit on STAT_SHARDS partitions chosen by the member (never one
# partition per day): a morning rush of check-ins spreads over 16 keys; a stats read is one
# Query per shard (SK between two days).
CHECKIN = "CHECKIN#"
CHECKIN_STATE = "CHECKIN"
CHECKIN_STATS = "CHECKINSTAT#"
ACTIVITY = "ACTIVITY#"
ACTIVITY_CAP = "ACTCAP#"
ACTIVITY_STATS = "ACTSTAT#"
STAT_SHARDS = 16


def checkin_state(member_id: str) -> dict[str, str]:
    return {"PK": member_pk(member_id), "SK": CHECKIN_STATE}


def checkin_day(member_id: str, day: str) -> dict[str, str]:
    """A member's check-in (or make-up) of the member-local ``day`` (yyyy-mm-dd)."""
    return {"PK": member_pk(member_id), "SK": f"{CHECKIN}{day}"}


def checkin_days(member_id: str, first: str, last: str) -> tuple[str, str, str]:
    """(PK, SK low, SK high) of the member's day records from ``first`` to ``last``."""
    return member_pk(member_id), f"{CHECKIN}{first}", f"{CHECKIN}{last}"


def stat_shard(member_id: str) -> int:
    return _shard(member_id, STAT_SHARDS)


def checkin_stats(member_id: str, day: str) -> dict[str, str]:
    return {"PK": f"{CHECKIN_STATS}{stat_shard(member_id):02d}", "SK": day}


def checkin_stats_partitions() -> list[str]:
    return [f"{CHECKIN_STATS}{s:02d}" for s in range(STAT_SHARDS)]


def activity(activity_type: str, natural_key: str) -> dict[str, str]:
    """The once-forever record of an activity event (the natural key hashed: any text)."""
    digest = hashlib.sha256(natural_key.encode()).hexdigest()[:40]
    return {"PK": f"{ACTIVITY}{activity_type}#{digest}", "SK": "ACTIVITY"}


def activity_cap(member_id: str, activity_type: str, period: str) -> dict[str, str]:
    """Awarded events of a type in a member-local day (yyyy-mm-dd) or month (yyyy-mm)."""
    return {"PK": member_pk(member_id), "SK": f"{ACTIVITY_CAP}{activity_type}#{period}"}


def activity_stats(member_id: str, day: str) -> dict[str, str]:
    return {"PK": f"{ACTIVITY_STATS}{stat_shard(member_id):02d}", "SK": day}


def activity_stats_partitions() -> list[str]:
    return [f"{ACTIVITY_STATS}{s:02d}" for s in range(STAT_SHARDS)]
