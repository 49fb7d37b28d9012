"""Settings read once from the environment; nothing else in Perks reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default) or default


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_name: str
    idempotency_table_name: str
    events_queue_name: str
    events_dlq_name: str
    delivery_queue_name: str
    delivery_dlq_name: str
    sms_topic_name: str
    alarm_topic_name: str
    dynamodb_endpoint: str | None
    sqs_endpoint: str | None
    sns_endpoint: str | None
    jwt_algorithm: str
    jwt_secret: str
    jwks_url: str
    jwt_issuer: str
    jwt_audience: str
    idempotency_ttl_seconds: int
    default_timezone: str
    default_locale: str
    push_platform_application_arn: str
    webhook_url: str
    webhook_secret: str
    gift_webhook_url: str  # the fulfilment partner's endpoint (issue 14; empty: not sent)
    gift_webhook_secret: str  # its HMAC key (from SSM in infra, like the other secrets)
    schedule_minutes: int
    table_stream_arn: str  # the stream handler's source (the deploy template overrides it)
    delivery_scan_segments: int  # parallel Scan segments per broadcast occurrence
    program_cache_seconds: int  # loyalty program kept in-process this long
    max_coupons_per_order: int = 4  # coupons: stack size limit for one order
    reservation_hold_minutes: int = 15  # coupons: how long a checkout reservation holds
    code_attempts_per_hour: int = 10  # coupons: failed code redemptions before 429
    # HMAC key of device ids (push token → opaque id); prod from the deploy template
    device_id_secret: str = ""
    # Prod: access tokens granted this resource-server scope (the console's Cognito client)
    # are accepted besides the app client's audience; empty accepts the audience only.
    jwt_console_scope: str = ""
    # Preview count jobs (each reads every member): their own queue and function
    preview_queue_name: str = ""
    # Email through SES and what members answer through the channels (docs/delivery.md)
    ses_endpoint: str | None = None
    email_from: str = ""               # "Perks <news@mail.example.com>"; empty: no email
    email_configuration_set: str = ""  # SES configuration set (bounce/complaint events)
    public_api_url: str = ""           # https base of the API mail clients reach (unsubscribe)
    unsubscribe_secret: str = ""       # HMAC key(s) of unsubscribe tickets, newest first
    contact_hash_secret: str = ""      # HMAC key of the phone index (inbound SMS replies)
    sms_inbound_topic_name: str = ""   # End User Messaging two-way SMS → this SNS topic
    email_events_topic_name: str = ""  # SES bounce/complaint events → this SNS topic
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def unsubscribe_secrets(self) -> list[str]:
        """UNSUBSCRIBE_SECRET's keys, the signing one first (comma-separated, for rotation);
        local stages without one use a fixed development key, prod never does."""
        found = [k.strip() for k in self.unsubscribe_secret.split(",") if k.strip()]
        if not found and self.stage != "prod":
            found = ["perks-dev-unsubscribe-secret"]
        return found

    @property
    def is_local(self) -> bool:
        """True when pointed at local engines (DynamoDB Local or moto)."""
        return self.dynamodb_endpoint is not None


def load_settings() -> Settings:
    """Read the environment into a frozen Settings object."""
    stage = _str("PERKS_STAGE", "dev")
    return Settings(
        stage=stage,
        region=_str("AWS_REGION", _str("AWS_DEFAULT_REGION", "us-east-1")),
        table_name=_str("TABLE_NAME", f"perks-{stage}"),
        idempotency_table_name=_str("IDEMPOTENCY_TABLE_NAME", f"perks-{stage}-idempotency"),
        events_queue_name=_str("EVENTS_QUEUE_NAME", f"perks-{stage}-events"),
        events_dlq_name=_str("EVENTS_DLQ_NAME", f"perks-{stage}-events-dlq"),
        delivery_queue_name=_str("DELIVERY_QUEUE_NAME", f"perks-{stage}-delivery"),
        delivery_dlq_name=_str("DELIVERY_DLQ_NAME", f"perks-{stage}-delivery-dlq"),
        preview_queue_name=_str("PREVIEW_QUEUE_NAME", f"perks-{stage}-preview"),
        sms_topic_name=_str("SMS_TOPIC_NAME", f"perks-{stage}-sms"),
        alarm_topic_name=_str("ALARM_TOPIC_NAME", f"perks-{stage}-alarms"),
        dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        sqs_endpoint=os.environ.get("SQS_ENDPOINT_URL") or None,
        sns_endpoint=os.environ.get("SNS_ENDPOINT_URL") or None,
        jwt_algorithm=_str("JWT_ALGORITHM", "HS256"),
        jwt_secret=_str("JWT_SECRET"),
        jwks_url=_str("JWKS_URL"),
        jwt_issuer=_str("JWT_ISSUER", "perks-local"),
        jwt_audience=_str("JWT_AUDIENCE", "perks"),
        jwt_console_scope=_str("JWT_CONSOLE_SCOPE"),
        idempotency_ttl_seconds=_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
        default_timezone=_str("DEFAULT_TIMEZONE", "Asia/Shanghai"),
        default_locale=_str("DEFAULT_LOCALE", "zh-CN"),
        push_platform_application_arn=_str("PUSH_PLATFORM_APPLICATION_ARN"),
        webhook_url=_str("WEBHOOK_URL"),
        webhook_secret=_str("WEBHOOK_SECRET"),
        gift_webhook_url=_str("GIFT_WEBHOOK_URL"),
        gift_webhook_secret=_str("GIFT_WEBHOOK_SECRET"),
        schedule_minutes=_int("SCHEDULE_MINUTES", 15),
        table_stream_arn=_str("TABLE_STREAM_ARN", "arn:aws:dynamodb:{}:000000000000:table/{}/"
                              "stream/local".format(
                                  _str("AWS_REGION", _str("AWS_DEFAULT_REGION", "us-east-1")),
                                  _str("TABLE_NAME", f"perks-{stage}"))),
        delivery_scan_segments=_int("DELIVERY_SCAN_SEGMENTS", 10),
        program_cache_seconds=_int("PROGRAM_CACHE_SECONDS", 30),
        max_coupons_per_order=_int("MAX_COUPONS_PER_ORDER", 4),
        reservation_hold_minutes=_int("RESERVATION_HOLD_MINUTES", 15),
        code_attempts_per_hour=_int("CODE_ATTEMPTS_PER_HOUR", 10),
        device_id_secret=_str("DEVICE_ID_SECRET"),
        ses_endpoint=os.environ.get("SES_ENDPOINT_URL") or None,
        email_from=_str("EMAIL_FROM"),
        email_configuration_set=_str("EMAIL_CONFIGURATION_SET"),
        public_api_url=_str("PUBLIC_API_URL"),
        unsubscribe_secret=_str("UNSUBSCRIBE_SECRET"),
        contact_hash_secret=_str("CONTACT_HASH_SECRET"),
        sms_inbound_topic_name=_str("SMS_INBOUND_TOPIC_NAME", f"perks-{stage}-sms-inbound"),
        email_events_topic_name=_str("EMAIL_EVENTS_TOPIC_NAME", f"perks-{stage}-email-events"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``reset()`` after changing env)."""
    return load_settings()


def reset() -> None:
    """Forget cached settings (used by tests and the local stack). The AWS clients built
    for the old settings go too: adapters/aws drops its cache when ``get_settings()`` returns
    a new object (config does not import the adapters: no cycle)."""
    get_settings.cache_clear()
