"""Member profiles: validation rules, birthdays, erasure. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from chalicelib.domain.models import OneLine, Out, Strict, length
from chalicelib.errors import ValidationFailed

MEMBER_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"
PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
BIRTHDAY_RE = re.compile(r"^(?:(\d{4})|-)-(\d{2})-(\d{2})$")


def _timezone(value: str) -> str:
    if value not in _zones():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, KeyError) as e:
            raise ValueError("not an IANA timezone such as 'Asia/Shanghai'") from e
    return value


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def _phone(value: str) -> str:
    if not PHONE_RE.match(value):
        raise ValueError("phone must be in E.164 form: + country code and number, digits only")
    return value


def _email(value: str) -> str:
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError("not a valid email address")
    return value.lower()


def _birthday(value: str) -> str:
    m = BIRTHDAY_RE.match(value)
    if not m:
        raise ValueError("birthday must be YYYY-MM-DD or --MM-DD")
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    try:
        date(int(year) if year else 2000, month, day)  # 2000 is a leap year: --02-29 is fine
    except ValueError as e:
        raise ValueError("birthday is not a calendar date") from e
    if year and not (1900 <= int(year) <= datetime.now(UTC).year):
        raise ValueError("birthday year is out of range")
    return value


Timezone = Annotated[str, AfterValidator(_timezone)]
Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, AfterValidator(_email)]
Birthday = Annotated[str, AfterValidator(_birthday)]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[\w:.-]+$")]
AttrKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")]
AttrValue = Annotated[str, length(0, 200), OneLine] | bool | int | float
Name = Annotated[str, length(1, 100), OneLine]
City = Annotated[str, length(1, 60), OneLine]


class Gender(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unspecified = "unspecified"


class Consent(Strict):
    """Marketing consent per channel; absent means no."""

    push: bool = False
    sms: bool = False
    email: bool = False


class ProfileFields(Strict):
    """What a member may say about itself (PATCH /me), and what the commerce backend may
    correct (PATCH /members/{id}). Nothing here grants anything by itself: birthday and
    gender, which campaigns and birthday bonuses read, are set once by the member and
    corrected after that only by an operator (see ``apply_patch``)."""

    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    birthday: Birthday | None = None
    timezone: Timezone | None = None
    locale: Locale | None = None
    gender: Gender | None = None
    consent: Consent | None = None


class SegmentationFields(Strict):
    """Operator-owned data that audiences and coupon gates read (tags, attributes, city,
    city tier). Only trusted callers write it: at registration (POST /members) or through
    the audited PATCH /admin/members/{id}/segmentation, never a member about itself."""

    tags: list[Tag] | None = Field(default=None, max_length=50)
    attributes: dict[AttrKey, AttrValue] | None = Field(default=None, max_length=50)
    city: City | None = None
    city_tier: Annotated[int, Field(ge=1, le=6)] | None = None


SEGMENTATION_FIELDS = tuple(SegmentationFields.model_fields)
# A member sets these once; changing a value already set is an operator's correction.
SET_ONCE_BY_MEMBER = ("birthday", "gender")
# Who put the birthday on file (stored beside it with when): a member with no birthday could
# otherwise set it to today and collect this year's birthday offer. A birthday the member set
# itself counts for birthday triggers and perks only once it has been on file this many days
# before the birthday; registration- and operator-set birthdays count at once.
BIRTHDAY_SET_BY, BIRTHDAY_SET_AT = "birthday_set_by", "birthday_set_at"
BIRTHDAY_WAIT_DAYS = 30


class NewMember(ProfileFields, SegmentationFields):
    """Body of POST /members (service, admin): the trusted registration."""

    member_id: Annotated[str, StringConstraints(pattern=MEMBER_ID_RE)] | None = None
    signup_at: AwareDatetime | None = None


class MemberPatch(ProfileFields):
    """Body of PATCH /members/{id} and PATCH /me: only profile fields; null clears a field."""


class SegmentationPatch(SegmentationFields):
    """Body of PATCH /admin/members/{id}/segmentation: fields sent replace, null clears."""


class SegmentationView(Out):
    """A member's segmentation after a change."""

    member_id: str
    tags: list[str] = []
    attributes: dict[str, object] = {}
    city: str | None = None
    city_tier: int | None = None
    updated_at: str


class Device(Strict):
    """Body of POST /me/devices."""

    platform: Annotated[str, StringConstraints(pattern=r"^(ios|android|web)$")]
    token: Annotated[str, StringConstraints(min_length=8, max_length=4096)]


class DeviceView(Out):
    """A registered device: addressed by its opaque id; the push token is never shown."""

    device_id: str
    platform: str | None = None
    registered_at: str | None = None
    enabled: bool = True


class MemberView(Out):
    """A member as the API shows it."""

    member_id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    birthday: str | None = None
    timezone: str
    locale: str
    city: str | None = None
    city_tier: int | None = None
    gender: str | None = None
    tags: list[str] = []
    attributes: dict[str, object] = {}
    consent: Consent = Consent()
    signup_at: str
    created_at: str
    updated_at: str
    erased: bool = False


PII_FIELDS = ("name", "phone", "email", "birthday", "tags", "city", "city_tier", "gender",
              "attributes", "birthday_set_by", "birthday_set_at")


def month_day(birthday: str | None) -> str | None:
    """'1990-02-29' or '--02-29' → '02-29' (the birthday index partition)."""
    if not birthday:
        return None
    m = BIRTHDAY_RE.match(birthday)
    return f"{m.group(2)}-{m.group(3)}" if m else None


def celebrated_month_days(day: date) -> list[str]:
    """Birthdays celebrated on ``day`` (29 Feb birthdays move to 28 Feb in common years)."""
    md = f"{day.month:02d}-{day.day:02d}"
    if md == "02-28" and not _is_leap(day.year):
        return ["02-28", "02-29"]
    return [md]


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_on(birthday: str | None, year: int) -> date | None:
    """The day ``birthday`` is celebrated in ``year`` (29 February → 28 February in common
    years, as ``celebrated_month_days``)."""
    md = month_day(birthday)
    if md is None:
        return None
    month, day = int(md[:2]), int(md[3:])
    if (month, day) == (2, 29) and not _is_leap(year):
        day = 28
    return date(year, month, day)


def birthday_provenance(set_by: str, now: str) -> dict[str, str]:
    """The fields recording who put a birthday on file and when (``registration``,
    ``member`` or ``operator``)."""
    return {BIRTHDAY_SET_BY: set_by, BIRTHDAY_SET_AT: now}


def text_field(item: Mapping[str, object], key: str) -> str | None:
    """A text field of a stored item (None when absent or not text)."""
    value = item.get(key)
    return value if isinstance(value, str) else None


def birthday_counts(profile: Mapping[str, object], year: int | str) -> bool:
    """Whether the profile's birthday counts for ``year``'s birthday campaigns and perks
    (``year``: a year, or an occurrence key starting with one).

    A birthday the member set itself counts only when it was on file at least
    ``BIRTHDAY_WAIT_DAYS`` days before that year's birthday (judged in the member's time
    zone); registration- and operator-set birthdays, and those stored before provenance was
    recorded, count at once."""
    birthday = text_field(profile, "birthday")
    if month_day(birthday) is None:
        return False
    if profile.get(BIRTHDAY_SET_BY) != "member":
        return True
    key = str(year)[:4]  # a birthday occurrence is keyed by its year ("2026")
    celebrated = birthday_on(birthday, int(key)) if key.isdigit() else None
    if celebrated is None:
        return False
    try:
        set_at = datetime.fromisoformat(str(profile.get(BIRTHDAY_SET_AT)).replace("Z", "+00:00"))
        tz = ZoneInfo(str(profile.get("timezone") or "UTC"))
    except (ValueError, ZoneInfoNotFoundError):
        return False  # a member-set birthday without a readable date: not trusted
    if set_at.tzinfo is None:
        set_at = set_at.replace(tzinfo=UTC)
    return set_at.astimezone(tz).date() <= celebrated - timedelta(days=BIRTHDAY_WAIT_DAYS)


def age_on(birthday: str | None, day: date) -> int | None:
    """Whole years on ``day``, when the birth year is known."""
    m = BIRTHDAY_RE.match(birthday or "")
    if not m or not m.group(1):
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return day.year - y - ((day.month, day.day) < (mo, d))


def apply_patch(current: Mapping[str, object], patch: MemberPatch | SegmentationPatch, *,
                by_member: bool = False, now: str | None = None) -> dict[str, object]:
    """Profile fields after a patch; explicit nulls clear a field (not timezone/locale).

    ``by_member``: the member about itself; a set-once field that already has a value may
    not be changed or cleared (400 at its path) -- else a member refused a birthday-only
    offer would simply move its birthday to today. A changed birthday records who set it
    and when (``now``), see ``birthday_counts``.
    """
    changes = patch.model_dump(exclude_unset=True, mode="json")
    for required in ("timezone", "locale"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(
                f"{required} cannot be cleared",
                details=[{"path": f"/{required}", "message": "may be changed but not set to null"}],
            )
    if by_member:
        locked = [f for f in SET_ONCE_BY_MEMBER if f in changes
                  and current.get(f) is not None and changes[f] != current[f]]
        if locked:
            raise ValidationFailed(
                "some fields can be set once and are already set",
                details=[{"path": f"/{f}", "message": "already set; ask customer service to "
                          "correct it"} for f in locked])
    merged = {**current, **changes}
    if "birthday" in changes and changes["birthday"] != current.get("birthday"):
        merged.update(birthday_provenance("member" if by_member else "operator",
                                          now or datetime.now(UTC).isoformat())
                      if changes["birthday"] else dict.fromkeys((BIRTHDAY_SET_BY,
                                                                 BIRTHDAY_SET_AT)))
    return {k: v for k, v in merged.items() if v is not None}


# --- masking for support views (who reads a profile sees only enough to recognise it) -------

def mask_name(name: str | None) -> str | None:
    """'李小雷' → '李*雷', '李雷' → '李*', 'Ada Lovelace' → 'A***e' (at most three stars);
    a one-character name is all star ('李' → '*': '李*' would show it whole)."""
    if not name:
        return None
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * min(3, len(name) - 2) + name[-1]


def _cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def mask_names_in(text: str, name: str | None) -> str:
    """``text`` (a rendered message title) with the member's name masked wherever it
    appears, case-insensitively: the whole name as ``mask_name`` shows it, and the given
    name alone (a greeting uses it: '小雷 生日快乐', 'Hi Ada') as stars. Given name: a
    Chinese name without its one-character surname, a Latin name's first word.

    Limits: only the name on file now is known, so a former name, a nickname or a
    compound surname's split (欧阳 + 娜娜 masks '阳娜娜', not '娜娜' alone) may stay;
    support is shown titles only, never bodies or links, for that reason."""
    name = (name or "").strip()
    if not name or not text:
        return text
    parts = {name: mask_name(name) or "*"}
    given = name[1:] if _cjk(name) and " " not in name else name.split()[0]
    if given and given.casefold() != name.casefold():
        parts.setdefault(given, "*" * len(given))
    for part in sorted(parts, key=len, reverse=True):  # the whole name before its parts
        text = re.sub(re.escape(part), parts[part], text, flags=re.IGNORECASE)
    return text


def mask_phone(phone: str | None) -> str | None:
    """'+8613800000000' → '+86138****0000': the four digits before the last four hidden."""
    if not phone:
        return None
    if len(phone) < 9:
        return "*" * len(phone)
    return phone[:-8] + "****" + phone[-4:]


def mask_email(email: str | None) -> str | None:
    """'ada@example.com' → 'a***@example.com'."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_birthday(birthday: str | None) -> str | None:
    """'1990-03-15' → '****-03-15': the day birthday campaigns use, never the year (age)."""
    md = month_day(birthday)
    return f"****-{md}" if md else None
