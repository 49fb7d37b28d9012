"""Read a DynamoDB stream shard by shard, the way a Lambda event source mapping does.

Per shard, records are delivered in order in batches of up to ``batch_size``. A batch whose
handler raises is retried from its first record; with a partial batch response it is retried
from the lowest failed sequence number (everything before that is checkpointed). A failing
shard blocks, with back-off, exactly as on Lambda (no retry limit is configured by Chalice).
Children are read only after their parent shard is finished. Checkpoints (last sequence number
per shard) can be kept in a JSON file so a restarted local stack resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.local import events

log = logging.getLogger("local.runner")
DONE = "<done>"
MIN_BACKOFF = 1.0
MAX_BACKOFF = 30.0
DISCOVER_EVERY = 2.0

# invoke(records) -> sequence numbers to retry (empty = all processed); raises = all failed.
Invoke = Callable[[list[dict[str, Any]]], list[str]]


@dataclass
class _Shard:
    shard_id: str
    parent: str | None
    iterator: str | None = None
    done: bool = False
    retry_at: float = 0.0
    backoff: float = 0.0


class Checkpoints:
    """Last processed sequence number per (stream, shard), optionally persisted as JSON."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.data: dict[str, dict[str, str]] = {}
        if path and path.exists():
            try:
                self.data = json.loads(path.read_text())
            except ValueError:
                log.warning("ignoring unreadable stream checkpoints in %s", path)

    def of(self, stream_arn: str) -> dict[str, str]:
        return self.data.setdefault(stream_arn, {})

    def save(self) -> None:
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            tmp.replace(self.path)


class StreamReader:
    """All shards of one stream feeding one handler."""

    def __init__(self, client: Any, stream_arn: str, *, batch_size: int, starting_position: str,
                 invoke: Invoke, region: str, checkpoints: Checkpoints | None = None) -> None:
        self.client = client
        self.region = region  # DynamoDB Local puts "ddblocal" in its ARNs
        self.stream_arn = stream_arn
        self.batch_size = max(1, min(batch_size, 1000))
        self.starting_position = starting_position
        self.invoke = invoke
        self.checkpoints = checkpoints or Checkpoints()
        self.shards: dict[str, _Shard] = {}
        self._started = False
        self._discover_at = 0.0

    def _describe(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = self.client.describe_stream(**kwargs)["StreamDescription"]
            shards += desc.get("Shards", [])
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def _iterator(self, shard_id: str, kind: str, seq: str | None = None) -> str | None:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id,
                                  "ShardIteratorType": kind}
        if seq:
            kwargs["SequenceNumber"] = seq
        try:
            return self.client.get_shard_iterator(**kwargs).get("ShardIterator")
        except ClientError as e:
            trimmed = e.response["Error"]["Code"] == "TrimmedDataAccessException"
            if trimmed and kind != "TRIM_HORIZON":
                return self._iterator(shard_id, "TRIM_HORIZON")
            raise

    def _discover(self) -> None:
        saved = self.checkpoints.of(self.stream_arn)
        resumed = bool(saved)
        listed = self._describe()
        for s in listed:
            sid = s["ShardId"]
            if sid in self.shards:
                continue
            parent = s.get("ParentShardId")
            if parent in self.shards and not self.shards[parent].done:
                continue  # read children after their parent is finished
            shard = _Shard(sid, parent)
            closed = "EndingSequenceNumber" in s.get("SequenceNumberRange", {})
            mark = saved.get(sid)
            if mark == DONE:
                shard.done = True
            elif mark:
                shard.iterator = self._iterator(sid, "AFTER_SEQUENCE_NUMBER", mark)
            elif not self._started and not resumed:
                if self.starting_position == "LATEST" and closed:
                    shard.done = True
                else:
                    shard.iterator = self._iterator(sid, self.starting_position)
            else:  # appeared since we started (or while the stack was down): read it all
                shard.iterator = self._iterator(sid, "TRIM_HORIZON")
            self.shards[sid] = shard
        live = {s["ShardId"] for s in listed}
        for sid in [k for k in saved if k not in live]:
            del saved[sid]  # shard expired from the stream
        self._started = True

    def prime(self) -> None:
        """Take the starting position now (LATEST: records written from this moment on).

        Without it, LATEST would mean "from the first poll", and a record written between
        the stack starting and its stream thread's first read would never be delivered.
        """
        if not self._started:
            self._discover()
            self._discover_at = time.monotonic() + DISCOVER_EVERY

    def poll_once(self) -> int:
        """One GetRecords round over every readable shard; returns records processed."""
        now = time.monotonic()
        if now >= self._discover_at or all(s.done for s in self.shards.values()):
            self._discover()
            self._discover_at = now + DISCOVER_EVERY
        processed = 0
        for shard in list(self.shards.values()):
            if shard.done or shard.iterator is None or shard.retry_at > now:
                continue
            processed += self._read(shard)
        return processed

    def _read(self, shard: _Shard) -> int:
        saved = self.checkpoints.of(self.stream_arn)
        try:
            resp = self.client.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ExpiredIteratorException":
                raise
            mark = saved.get(shard.shard_id)
            shard.iterator = (self._iterator(shard.shard_id, "AFTER_SEQUENCE_NUMBER", mark) if mark
                              else self._iterator(shard.shard_id, "TRIM_HORIZON"))
            return 0
        records = resp.get("Records", [])
        nxt = resp.get("NextShardIterator")
        if not records:
            shard.iterator = nxt
            if nxt is None:
                shard.done = True
                saved[shard.shard_id] = DONE
                self.checkpoints.save()
            return 0
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        try:
            retry = self.invoke([events.stream_record(r, self.stream_arn, self.region)
                                 for r in records])
        except Exception:
            log.exception("stream handler failed; batch of %d will be retried", len(records))
            retry = seqs
        ok = seqs if not retry else seqs[:seqs.index(min(retry, key=seqs.index))]
        if ok:
            saved[shard.shard_id] = ok[-1]
            self.checkpoints.save()
        if retry:
            first = seqs[len(ok)]
            shard.iterator = self._iterator(shard.shard_id, "AT_SEQUENCE_NUMBER", first)
            shard.backoff = min(MAX_BACKOFF, max(MIN_BACKOFF, shard.backoff * 2))
            shard.retry_at = time.monotonic() + shard.backoff
        else:
            shard.iterator = nxt
            shard.backoff = 0.0
            if nxt is None:
                shard.done = True
                saved[shard.shard_id] = DONE
                self.checkpoints.save()
        return len(ok)
