"""Feature store: user profiles and item info by integer id, for the online recall -> rank funnel.

One small interface, two backends chosen by URL (`open_store`):
  sqlite (default)   "sqlite:///path/to/store.db", a bare path, or None / ":memory:" for an in-process store;
                     one table per kind: (id INTEGER PRIMARY KEY, record TEXT), WAL journal for file stores;
  redis              "redis://host:port/db" through redis-py; one hash per kind, "<prefix>:<kind>", field = id.
A record is a JSON object (dict of JSON values; numpy scalars and arrays are converted), stored as compact JSON,
so both backends return exactly the same dicts. Writes are batched (one transaction / pipelined HSET per 10k);
`get_users(ids)` / `get_items(ids)` are one round trip per 10k ids (SQLite `IN (...)`, Redis HMGET) and return
records in the order asked. A missing id raises MissingRecordError naming the kind and the ids (or gives None
with `allow_missing=True`); an id that is not an integer raises BadKeyError naming it; both are KeyErrors.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from recstack.errors import RecstackError

KINDS = ("user", "item")
CHUNK = 10_000  # ids per SQL statement / Redis command: well under SQLite's 32,766 bound parameters


class FeatureStoreKeyError(RecstackError, KeyError):
    """A bad or missing id; str() is the plain message (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0])


class BadKeyError(FeatureStoreKeyError):
    """An id that is not an integer."""


class MissingRecordError(FeatureStoreKeyError):
    """Ids with no record; `.ids` lists all of them."""

    def __init__(self, message: str, ids: list[int]):
        super().__init__(message)
        self.ids = ids


def _ids(kind: str, ids: Iterable) -> list[int]:
    if kind not in KINDS:
        raise RecstackError(f"record kind must be one of {KINDS}, got {kind!r}")
    if isinstance(ids, np.ndarray) and np.issubdtype(ids.dtype, np.integer):
        return ids.ravel().tolist()
    checked = []
    for key in ids:
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise BadKeyError(f"{kind} id must be an integer, got {key!r} ({type(key).__name__})")
        if not -(1 << 63) <= key < 1 << 63:
            raise BadKeyError(f"{kind} id {key} does not fit in 64 bits")
        checked.append(int(key))
    return checked


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _encode(kind: str, key: int, record: Mapping) -> str:
    if not isinstance(record, Mapping):
        raise RecstackError(f"{kind} {key}: a record must be a dict, got {type(record).__name__}")
    try:
        return json.dumps(record, separators=(",", ":"), default=_plain, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise RecstackError(f"{kind} {key}: record is not JSON-serialisable ({error})") from error


class FeatureStore(ABC):
    """get/put of user profiles and item info; subclasses implement the three raw operations."""

    url: str

    @abstractmethod
    def _write(self, kind: str, rows: list[tuple[int, str]]) -> None: ...

    @abstractmethod
    def _read(self, kind: str, ids: list[int]) -> list[str | None]: ...

    @abstractmethod
    def count(self, kind: str) -> int: ...

    def close(self) -> None:
        pass

    def put(self, kind: str, records: Mapping[int, Mapping]) -> None:
        """Inserts or replaces records {id: record}."""
        if not isinstance(records, Mapping):
            raise RecstackError(f"{kind} records must be a dict of id -> record, got {type(records).__name__}")
        keys = _ids(kind, records.keys())
        rows = [(key, _encode(kind, key, record)) for key, record in zip(keys, records.values())]
        for start in range(0, len(rows), CHUNK):
            self._write(kind, rows[start:start + CHUNK])

    def get_many(self, kind: str, ids: Iterable[int], allow_missing: bool = False) -> list[dict | None]:
        keys = _ids(kind, ids)
        found = [text for start in range(0, len(keys), CHUNK) for text in self._read(kind, keys[start:start + CHUNK])]
        missing = [key for key, text in zip(keys, found) if text is None]
        if missing and not allow_missing:
            shown = ", ".join(map(str, missing[:10])) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            raise MissingRecordError(f"{kind} {shown} not in the feature store {self.url}", missing)
        return [None if text is None else json.loads(text) for text in found]

    def put_users(self, records: Mapping[int, Mapping]) -> None:
        self.put("user", records)

    def put_items(self, records: Mapping[int, Mapping]) -> None:
        self.put("item", records)

    def get_users(self, ids: Iterable[int], allow_missing: bool = False) -> list[dict | None]:
        return self.get_many("user", ids, allow_missing)

    def get_items(self, ids: Iterable[int], allow_missing: bool = False) -> list[dict | None]:
        return self.get_many("item", ids, allow_missing)

    def get_user(self, user_id: int) -> dict:
        return self.get_many("user", [user_id])[0]

    def get_item(self, item_id: int) -> dict:
        return self.get_many("item", [item_id])[0]

    def __enter__(self) -> "FeatureStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SQLiteStore(FeatureStore):
    """Embedded store; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: str | Path = ":memory:"):
        self.url = f"sqlite:///{path}"
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(str(path), check_same_thread=False)
        self.lock = threading.Lock()
        with self.lock, self.connection:
            if str(path) != ":memory:":
                self.connection.execute("PRAGMA journal_mode=WAL")
            for kind in KINDS:
                self.connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {kind} (id INTEGER PRIMARY KEY, record TEXT NOT NULL)")

    def _write(self, kind: str, rows: list[tuple[int, str]]) -> None:
        with self.lock, self.connection:  # one transaction per chunk
            self.connection.executemany(f"INSERT OR REPLACE INTO {kind} (id, record) VALUES (?, ?)", rows)

    def _read(self, kind: str, ids: list[int]) -> list[str | None]:
        with self.lock:
            found = dict(self.connection.execute(
                f"SELECT id, record FROM {kind} WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall())
        return [found.get(key) for key in ids]

    def count(self, kind: str) -> int:
        _ids(kind, [])
        with self.lock:
            return self.connection.execute(f"SELECT COUNT(*) FROM {kind}").fetchone()[0]

    def close(self) -> None:
        self.connection.close()


class RedisStore(FeatureStore):
    """A redis-server reached through redis-py; records live in the hashes "<prefix>:user" and "<prefix>:item"."""

    def __init__(self, url: str, prefix: str = "recstack"):
        import redis

        self.url, self.prefix = _without_password(url), prefix
        self.client = redis.Redis.from_url(url)
        try:
            self.client.ping()
        except redis.RedisError as error:
            raise RecstackError(f"cannot reach the Redis feature store at {self.url}: {error}") from error

    def _write(self, kind: str, rows: list[tuple[int, str]]) -> None:
        self.client.hset(f"{self.prefix}:{kind}", mapping=dict(rows))

    def _read(self, kind: str, ids: list[int]) -> list[str | None]:
        if not ids:
            return []
        return [None if raw is None else raw.decode() for raw in self.client.hmget(f"{self.prefix}:{kind}", ids)]

    def count(self, kind: str) -> int:
        _ids(kind, [])
        return int(self.client.hlen(f"{self.prefix}:{kind}"))

    def close(self) -> None:
        self.client.close()


def _without_password(url: str) -> str:
    """The URL as shown in messages: a password in it is replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def open_store(url: str | Path | None = None) -> FeatureStore:
    """None or ":memory:" -> in-memory SQLite; "sqlite:///path" or a path -> SQLite file; "redis://..." -> Redis."""
    text = ":memory:" if url is None else str(url)
    if text.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(text)
    if "://" in text and not text.startswith("sqlite://"):
        raise RecstackError(f"feature store URL must start with sqlite:// or redis://, got {text!r}")
    return SQLiteStore(text.removeprefix("sqlite:///").removeprefix("sqlite://") or ":memory:")
