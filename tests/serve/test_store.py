"""Feature store: the same behaviour from the embedded SQLite backend and a real redis-server."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from recstack.errors import RecstackError
from recstack.serve import store as store_module
from recstack.serve.store import (BadKeyError, FeatureStore, MissingRecordError, RedisStore, SQLiteStore,
                                  open_store)


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "redis"])
def store(request, tmp_path: Path) -> FeatureStore:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        opened = open_store(url)
        opened.client.flushdb()
    else:
        opened = open_store(None if request.param == "sqlite-memory" else f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def profile(user: int) -> dict:
    return {"user_id": user, "gender": "F" if user % 2 else "M", "age": 18 + user % 40, "rated": [user, user + 1],
            "ids": {"user_id": user * 7, "zip": 3}}


def test_put_then_get_returns_the_same_records_in_the_order_asked(store):
    store.put_users({u: profile(u) for u in range(1, 6)})
    store.put_items({1: {"title": "Toy Story (1995)", "genres": ["Animation"], "year": 1995}})
    assert store.get_user(3) == profile(3)
    assert store.get_users([5, 1, 5, 2]) == [profile(5), profile(1), profile(5), profile(2)]
    assert store.get_item(1) == {"title": "Toy Story (1995)", "genres": ["Animation"], "year": 1995}
    assert store.count("user") == 5 and store.count("item") == 1
    assert store.get_users(np.array([2, 4], dtype=np.int64)) == [profile(2), profile(4)]


def test_users_and_items_are_separate_and_put_replaces(store):
    store.put_users({7: {"name": "user seven"}})
    store.put_items({7: {"name": "item seven"}})
    store.put_users({7: {"name": "user seven, edited"}})
    assert store.get_user(7) == {"name": "user seven, edited"}
    assert store.get_item(7) == {"name": "item seven"}
    assert store.count("user") == 1


def test_numpy_values_are_stored_as_plain_json(store):
    store.put_items({np.int64(3): {"ids": np.array([4, 5]), "year": np.int32(1999), "score": np.float32(0.5)}})
    assert store.get_item(3) == {"ids": [4, 5], "year": 1999, "score": 0.5}


def test_batched_multi_get_across_chunks(store, monkeypatch):
    monkeypatch.setattr(store_module, "CHUNK", 100)  # three statements / commands each way, on a small set
    n = 100 * 2 + 17
    store.put_items({i: {"i": i} for i in range(n)})
    wanted = np.random.default_rng(0).permutation(n)
    assert [r["i"] for r in store.get_items(wanted)] == wanted.tolist()
    assert store.count("item") == n


def test_missing_ids_are_named(store):
    store.put_users({1: profile(1)})
    with pytest.raises(MissingRecordError, match=r"user 999 not in the feature store") as error:
        store.get_user(999)
    assert isinstance(error.value, KeyError)
    with pytest.raises(MissingRecordError, match=r"user 404, 405 not in") as error:
        store.get_users([1, 404, 405])
    assert error.value.ids == [404, 405]
    assert store.get_users([1, 404], allow_missing=True) == [profile(1), None]
    with pytest.raises(MissingRecordError, match=r"item 1 not in"):
        store.get_item(1)  # a user id is not an item id


@pytest.mark.parametrize("key", ["42", 1.5, True, None])
def test_ids_that_are_not_integers_are_named(store, key):
    with pytest.raises(BadKeyError, match=f"user id must be an integer, got {key!r}") as error:
        store.get_users([1, key])
    assert isinstance(error.value, KeyError)
    with pytest.raises(BadKeyError, match="item id must be an integer"):
        store.put_items({key: {"title": "x"}})
    with pytest.raises(BadKeyError, match="does not fit in 64 bits"):
        store.get_user(1 << 70)


def test_bad_records_are_refused_naming_the_id(store):
    with pytest.raises(RecstackError, match="user 5: a record must be a dict"):
        store.put_users({5: ["not", "a", "dict"]})
    with pytest.raises(RecstackError, match="user 6: record is not JSON-serialisable"):
        store.put_users({6: {"tags": {"a", "b"}}})
    with pytest.raises(RecstackError, match="user 7: record is not JSON-serialisable"):
        store.put_users({7: {"score": float("nan")}})
    with pytest.raises(RecstackError, match="must be a dict of id -> record"):
        store.put_users([profile(1)])
    with pytest.raises(RecstackError, match="kind must be one of"):
        store.get_many("movie", [1])
    assert store.count("user") == 0


def test_sqlite_file_keeps_records_after_reopening(tmp_path: Path):
    path = tmp_path / "nested" / "store.db"
    with open_store(path) as first:
        first.put_users({1: profile(1)})
    with open_store(f"sqlite:///{path}") as second:
        assert isinstance(second, SQLiteStore) and second.get_user(1) == profile(1)


def test_sqlite_store_is_shared_between_threads():
    store = open_store()
    store.put_items({i: {"i": i} for i in range(1000)})
    results, errors = [], []

    def read(offset: int) -> None:
        try:
            for _ in range(50):
                wanted = range(offset, offset + 100)
                results.append(store.get_items(wanted) == [{"i": i} for i in wanted])
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=read, args=(100 * t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 200 and all(results)


def test_redis_store_sees_what_another_client_wrote(redis_url):
    with open_store(redis_url) as writer, open_store(redis_url) as reader:
        assert isinstance(writer, RedisStore)
        writer.client.flushdb()
        writer.put_users({11: profile(11)})
        assert reader.get_user(11) == profile(11)


def test_unreachable_redis_and_unknown_schemes_are_clear_errors():
    with pytest.raises(RecstackError, match="cannot reach the Redis feature store at redis://127.0.0.1:1/0"):
        open_store("redis://127.0.0.1:1/0")
    with pytest.raises(RecstackError, match=r"at redis://:\*\*\*@127.0.0.1:1/0") as error:
        open_store("redis://:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in str(error.value)
    with pytest.raises(RecstackError, match="must start with sqlite:// or redis://"):
        open_store("http://localhost/store")
