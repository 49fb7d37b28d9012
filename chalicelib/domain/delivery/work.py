"""Units of work on the delivery queue, and how the planner packs them into SQS entries.

A *task* is one (campaign, occurrence, member) due at ``at``. The planner packs tasks into
entries of up to ``MAX_MEMBERS`` members (each entry many members, each SendMessageBatch ten
entries), keeping all of one member's tasks in one entry so the worker can spend a member's
frequency cap on the highest-priority campaign first.

A task may carry the member's profile (``p``) when the planner already read it from an index
with an all-attributes projection; the worker then does not read it again. Tasks without a
profile (deferred, event-driven) are read fresh by the worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from chalicelib.domain.items import Untyped

VERSION = 1
MAX_MEMBERS = 50
MAX_BYTES = 200_000  # SQS allows 256 KiB per message; leave room for attributes
BATCH = 10  # entries per SendMessageBatch


@dataclass
class Task:
    campaign: str
    occurrence: str
    member: str
    at: str  # ISO UTC instant the occurrence is due for this member
    profile: dict[str, object] | None = None
    event: Untyped | None = None  # the domain event's payload (read by the worker)
    deferred: int = 0  # how many times quiet hours already pushed it back
    loyalty: dict[str, object] | None = None

    def key(self) -> tuple[str, str, str]:
        return (self.campaign, self.occurrence, self.member)

    def to_json(self) -> dict[str, object]:
        """The task on the wire (short keys: an entry carries up to ``MAX_MEMBERS``)."""
        out: dict[str, object] = {"c": self.campaign, "o": self.occurrence, "m": self.member,
                                  "at": self.at}
        if self.profile is not None:
            out["p"] = self.profile
        if self.event is not None:
            out["e"] = self.event
        if self.deferred:
            out["d"] = self.deferred
        if self.loyalty is not None:
            out["l"] = self.loyalty
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> Task:
        d = raw.get("d", 0)
        return cls(str(raw["c"]), str(raw["o"]), str(raw["m"]), str(raw["at"]),
                   _object(raw.get("p")), _object(raw.get("e")),
                   int(d) if isinstance(d, (int, float, str)) else 0, _object(raw.get("l")))


def _object(value: object) -> dict[str, object] | None:
    """A JSON object of the wire format (anything else, absent included: None)."""
    return value if isinstance(value, dict) else None


@dataclass
class Entry:
    """One SQS message body: member tasks, or a segment of a broadcast scan."""

    kind: str  # "members" | "scan"
    tasks: list[Task] = field(default_factory=list)
    scan: dict[str, object] | None = None
    sim: str | None = None  # demo/test clock: evaluate quiet hours at this instant

    def body(self) -> str:
        out: dict[str, object] = {"v": VERSION, "kind": self.kind}
        if self.tasks:
            out["tasks"] = [t.to_json() for t in self.tasks]
        if self.scan is not None:
            out["scan"] = self.scan
        if self.sim:
            out["sim"] = self.sim
        return json.dumps(out, separators=(",", ":"), ensure_ascii=False, default=str)

    @classmethod
    def parse(cls, body: str) -> Entry:
        raw = json.loads(body)
        if raw.get("v") != VERSION:
            raise ValueError(f"unsupported work version {raw.get('v')!r}")
        return cls(raw["kind"], [Task.from_json(t) for t in raw.get("tasks", [])],
                   raw.get("scan"), raw.get("sim"))


def pack(tasks: Iterable[Task], sim: str | None = None, max_members: int = MAX_MEMBERS,
         max_bytes: int = MAX_BYTES, batch: int = BATCH) -> list[Entry]:
    """Entries holding every task once, a member's tasks always together.

    Members are spread evenly over a multiple of ``batch`` entries (each at most
    ``max_members``), so every SendMessageBatch request but a small tail is full: 1,111
    members become 30 entries of about 37, three full requests, rather than 22 entries of 50
    and a runt.
    """
    import math

    by_member: dict[str, list[Task]] = {}
    for t in tasks:
        by_member.setdefault(t.member, []).append(t)
    n = len(by_member)
    if n == 0:
        return []
    count = min(n, batch * math.ceil(n / (batch * max_members)))
    per_entry = math.ceil(n / count)
    entries: list[Entry] = []
    current: list[Task] = []
    members = 0
    size = 0
    for group in by_member.values():
        g_size = sum(len(json.dumps(t.to_json(), default=str)) + 1 for t in group)
        if current and (members >= per_entry or size + g_size > max_bytes):
            entries.append(Entry("members", current, sim=sim))
            current, members, size = [], 0, 0
        current.extend(group)
        members += 1
        size += g_size
    if current:
        entries.append(Entry("members", current, sim=sim))
    return entries


def batches(entries: list[Entry], size: int = BATCH) -> Iterator[list[Entry]]:
    for i in range(0, len(entries), size):
        yield entries[i:i + size]
