"""Perks: the table of contents. Routes live in blueprints, logic in chalicelib/services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, DynamoDBEvent, SQSEvent

from chalicelib import bootstrap
from chalicelib.api import activities as activities_api
from chalicelib.api import auth, campaign_review, health, members
from chalicelib.api import campaigns as campaigns_api
from chalicelib.api import checkins as checkins_api
from chalicelib.api import checkout as checkout_api
from chalicelib.api import coupons as coupons_api
from chalicelib.api import draws as draws_api
from chalicelib.api import gifts as gifts_api
from chalicelib.api import inbox as inbox_api
from chalicelib.api import loyalty as loyalty_api
from chalicelib.api import orders as orders_api
from chalicelib.api import referrals as referrals_api
from chalicelib.api import results as results_api
from chalicelib.api import segments as segments_api
from chalicelib.api import unsubscribe as unsubscribe_api
from chalicelib.config import get_settings

bootstrap.register()  # the composition root: repositories, clients, services, hooks

app = Chalice(app_name="perks")
app.experimental_feature_flags.update(["BLUEPRINTS"])

app.register_blueprint(auth.bp)
app.register_blueprint(health.bp)
app.register_blueprint(members.bp)
app.register_blueprint(campaigns_api.bp)
app.register_blueprint(campaign_review.bp)
app.register_blueprint(segments_api.bp)
app.register_blueprint(loyalty_api.bp)
app.register_blueprint(orders_api.bp)
app.register_blueprint(inbox_api.bp)
app.register_blueprint(coupons_api.bp)
app.register_blueprint(checkout_api.bp)
app.register_blueprint(results_api.bp)
app.register_blueprint(unsubscribe_api.bp)
app.register_blueprint(draws_api.bp)
app.register_blueprint(referrals_api.bp)
app.register_blueprint(gifts_api.bp)
app.register_blueprint(checkins_api.bp)
app.register_blueprint(activities_api.bp)


# Loyalty jobs: daily at 00:05 Asia/Shanghai; each catches up on every local date it missed.
@app.schedule("cron(5 16 * * ? *)", name="loyalty-expire-lots")
def loyalty_expire_lots(event: CloudWatchEvent) -> Mapping[str, object]:
    from chalicelib.services.loyalty import jobs as loyalty_jobs
    return loyalty_jobs.expire_due(lambda_context=event.context)


@app.schedule("cron(10 16 * * ? *)", name="loyalty-review-tiers")
def loyalty_review_tiers(event: CloudWatchEvent) -> Mapping[str, object]:
    from chalicelib.services.loyalty import jobs as loyalty_jobs
    return loyalty_jobs.review_due(lambda_context=event.context)


# Segments: every Monday 03:00 Asia/Shanghai, each segment's size estimate for the trend.
@app.schedule("cron(0 19 ? * SUN *)", name="segment-sizes")
def segment_sizes(event: Any) -> dict:
    from chalicelib.services.campaigns import segments
    return segments.snapshot_sizes()


# Tier perks: hourly, grant the month's free-shipping coupons to the members whose local month
# just began (each run covers every zone whose month started since the last run).
@app.schedule("cron(1 * * * ? *)", name="grant-tier-perks")
def grant_tier_perks(event: Any) -> dict:
    from chalicelib.services.loyalty import perks
    return perks.grant_monthly(lambda_context=event.context)


# Referrals (老带新): qualify and reward those whose first order's refund window has passed.
@app.schedule(Rate(15, unit=Rate.MINUTES), name="referrals-due")
def referrals_due(event: CloudWatchEvent) -> Mapping[str, object]:
    from chalicelib.services.engagement import referral_rewards
    return referral_rewards.run_due()
# Gift fulfilment: send the partner webhooks owed (signed, retried with backoff, then dead).
@app.schedule(Rate(1, unit=Rate.MINUTES), name="sweep-gift-webhooks")
def sweep_gift_webhooks(event: CloudWatchEvent) -> Mapping[str, object]:
    from chalicelib.services.loyalty import gifts
    return gifts.sweep_webhooks()


# Delivery: the planner every SCHEDULE_MINUTES; workers on the delivery and events queues;
# the table's stream turns committed writes into domain events (see services/delivery/events.py).
_settings = get_settings()


@app.schedule(Rate(_settings.schedule_minutes, unit=Rate.MINUTES), name="plan-campaigns")
def plan_campaigns(event: CloudWatchEvent) -> Mapping[str, object]:
    from chalicelib.services.delivery import delivery
    return delivery.tick().__dict__


# Push/SMS/webhook at least once: re-send outbox entries a crashed worker left pending.
@app.schedule(Rate(5, unit=Rate.MINUTES), name="sweep-outbox")
def sweep_outbox(event: CloudWatchEvent) -> Mapping[str, object]:
    from chalicelib.services.delivery import delivery
    return delivery.sweep_outbox()


@app.on_sqs_message(queue=_settings.delivery_queue_name, batch_size=10, name="deliver")
def deliver(event: SQSEvent) -> Mapping[str, object]:
    from chalicelib.services.delivery import delivery
    return delivery.handle_batch(event.to_dict(), event.context)


# Preview exact counts read every member: their own queue, one per invocation, a longer
# timeout (.chalice/config.json), so they never hold up real sends in a delivery batch.
@app.on_sqs_message(queue=_settings.preview_queue_name, batch_size=1, name="count-previews")
def count_previews(event: SQSEvent) -> Mapping[str, object]:
    from chalicelib.services.campaigns import preview as campaign_preview
    return campaign_preview.handle_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue=_settings.events_queue_name, batch_size=10, name="handle-events")
def handle_events(event: SQSEvent) -> Mapping[str, object]:
    from chalicelib.services.delivery import events
    return events.handle_batch(event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=_settings.table_stream_arn, batch_size=100,
                        starting_position="LATEST", name="on-table-change")
def on_table_change(event: DynamoDBEvent) -> Mapping[str, object]:
    from chalicelib.services.delivery import events
    return events.on_stream(event.to_dict())


# What members answer through the channels (docs/delivery.md, "Email and replies"): SMS
# replies (End User Messaging two-way SMS → SNS) and SES bounces/complaints (→ SNS).
@app.on_sns_message(topic=_settings.sms_inbound_topic_name, name="sms-replies")
def sms_replies(event: Any) -> dict:
    from chalicelib.services.members import consent_events
    return consent_events.handle_sms_event(event.to_dict())


@app.on_sns_message(topic=_settings.email_events_topic_name, name="email-feedback")
def email_feedback(event: Any) -> dict:
    from chalicelib.services.members import consent_events
    return consent_events.handle_email_event(event.to_dict())
