"""The MovieLens demo app on a tiny dataset with a planted taste: the funnel recommends what each profile likes,
known users never get a movie they rated, reasons cite a liked movie or the profile group, every endpoint's bad
input gets a 4xx naming the field, the evaluation's recall@100 is exact, and a Redis store serves the same."""

from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.testclient import TestClient

from tiny_movielens import ACTION, ROMANCE, TINY_RANK, TINY_RECALL
from recstack.demos.movielens.app import create_app
from recstack.demos.movielens.evaluate import funnel_metrics
from recstack.demos.movielens.funnel import Funnel
from recstack.serve.store import open_store

STUDENT = {"gender": "F", "age": 25, "occupation": "college/grad student"}
PROGRAMMER = {"gender": "M", "age": 47, "occupation": "programmer"}


@pytest.fixture(scope="module")
def funnel(tiny_demo):
    _, out, _ = tiny_demo
    store = open_store(f"sqlite:///{out / 'store.db'}")
    yield Funnel(out, store)
    store.close()


@pytest.fixture(scope="module")
def client(funnel):
    return TestClient(create_app(funnel))


@pytest.mark.parametrize("profile, liked, group", [(STUDENT, ROMANCE, "women aged 25-34"),
                                                   (PROGRAMMER, ACTION, "men aged 45-49")])
def test_a_new_user_gets_the_movies_of_their_profile(client, profile, liked, group):
    reply = client.post("/api/recommend", json={"profile": profile, "count": 10})
    assert reply.status_code == 200, reply.text
    movies = reply.json()["movies"]
    assert len(movies) == 10 and len({m["movie_id"] for m in movies}) == 10
    assert [m["movie_id"] in liked for m in movies[:8]] == [True] * 8  # 12 liked movies exist; the best 8 are theirs
    assert all(group in m["reason"] for m in movies[:8])
    assert [m["score"] for m in movies] == sorted((m["score"] for m in movies), reverse=True)
    assert all(m["title"] and m["genres"] and 0 < m["like"] < 1 for m in movies)


def test_a_known_user_gets_unrated_movies_with_a_liked_one_as_reason(client, funnel):
    record = funnel.store.get_user(3)
    titles = {funnel.store.get_item(m)["title"] for m in record["liked"]}
    movies = client.post("/api/recommend", json={"user_id": 3, "count": 3}).json()["movies"]
    assert len(movies) == 3
    assert not {m["movie_id"] for m in movies} & set(record["rated"])
    assert all(m["movie_id"] in ROMANCE for m in movies)
    assert all(m["reason"].removeprefix("because you liked ") in titles for m in movies)


def test_recall_and_rank_endpoints(client, funnel):
    record = funnel.store.get_user(25)
    recall = client.post("/api/recall", json={"user_id": 25, "k": 100}).json()
    assert sorted(recall["items"]) == sorted(set(range(1, 25)) - set(record["rated"]))  # every unrated movie
    assert recall["scores"] == sorted(recall["scores"], reverse=True)
    candidates = [1, 13, 2, 14]
    rank = client.post("/api/rank", json={"profile": PROGRAMMER, "candidates": candidates}).json()
    assert rank["items"] == candidates
    romance, action = np.array(rank["scores"])[[0, 2]], np.array(rank["scores"])[[1, 3]]
    assert action.min() > romance.max()
    direct = funnel.rank([funnel.new_user(**PROGRAMMER)], [np.array(candidates)])[0]
    np.testing.assert_allclose(rank["scores"], direct, rtol=1e-6)


def test_profile_and_item_lookups_and_the_page(client):
    assert client.get("/api/users/3").json()["gender"] == "F"
    assert client.get("/api/items/13").json() == {"movie_id": 13, "title": "Battle 13 (1995)", "genres": ["Action"],
                                                  "year": 1995}
    options = client.get("/api/options").json()
    assert options["user_ids"] == [1, 40] and "programmer" in options["occupations"]
    page = client.get("/")
    assert page.status_code == 200 and 'id="movies"' in page.text and "app.js" in page.text
    assert "api/recommend" in client.get("/app.js").text


@pytest.mark.parametrize("method, path, body, status, field", [
    ("post", "/api/recommend", {}, 422, "user_id"),
    ("post", "/api/recommend", {"user_id": 3, "profile": STUDENT}, 422, "user_id"),
    ("post", "/api/recommend", {"user_id": "3"}, 422, "user_id"),
    ("post", "/api/recommend", {"user_id": 99}, 404, "user_id"),
    ("post", "/api/recommend", {"profile": {"gender": "F", "age": 25}}, 422, "profile.occupation"),
    ("post", "/api/recommend", {"profile": {**STUDENT, "gender": "female"}}, 422, "profile.gender"),
    ("post", "/api/recommend", {"profile": {**STUDENT, "age": "25"}}, 422, "profile.age"),
    ("post", "/api/recommend", {"profile": {**STUDENT, "age": 0}}, 422, "profile.age"),
    ("post", "/api/recommend", {"profile": [1, 2]}, 422, "profile"),
    ("post", "/api/recommend", {"user_id": 3, "count": 0}, 422, "count"),
    ("post", "/api/recall", {"user_id": 3, "k": 1.5}, 422, "k"),
    ("post", "/api/rank", {"user_id": 3}, 422, "candidates"),
    ("post", "/api/rank", {"user_id": 3, "candidates": [1, 999]}, 422, "candidates"),
    ("post", "/api/rank", {"user_id": 3, "candidates": [1, 1 << 70]}, 422, "candidates"),
    ("post", "/api/rank", {"user_id": 3, "candidates": [True]}, 422, "candidates"),
    ("post", "/api/recall", {"user_id": True}, 422, "user_id"),
    ("post", "/api/recall", {"user_id": 1 << 70}, 422, "user_id"),
    ("post", "/api/rank", {"user_id": 3, "candidates": [1, "2"]}, 422, "candidates"),
    ("post", "/api/rank", {"user_id": 3, "candidates": list(range(1, 1002))}, 413, "candidates"),
    ("post", "/api/rank", {"user_id": 3, "candidates": [1] * 40_000}, 413, None),
    ("get", "/api/users/99", None, 404, "user_id"),
    ("get", "/api/items/99", None, 404, "item_id"),
])
def test_malformed_requests_get_a_4xx_naming_the_field(client, method, path, body, status, field):
    reply = client.post(path, json=body) if method == "post" else client.get(path)
    assert reply.status_code == status, reply.text
    assert reply.json().get("field") == field and reply.json()["detail"]


def test_a_body_that_is_not_json_is_a_400(client):
    reply = client.post("/api/recommend", content=b"{user_id: 3", headers={"Content-Type": "application/json"})
    assert reply.status_code == 400 and "not valid JSON" in reply.json()["detail"]


def test_offline_evaluation_on_the_held_out_ratings(tiny_demo):
    _, out, facts = tiny_demo
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation == facts["evaluation"]
    for name in ("recall_order", "rank_model", "funnel", "most_popular"):
        # 24 movies < k = 100: every unrated movie is recalled, so every held-out movie is found
        assert evaluation["all"][name]["recall@100"] == 1.0 and evaluation["all"][name]["users"] == 40
    assert evaluation["liked"]["funnel"]["ndcg@10"] > evaluation["liked"]["most_popular"]["ndcg@10"]


def test_funnel_metrics_against_hand_computed_values():
    candidates = [np.array([3, 1, 2]), np.array([5, 6]), np.array([7, 8, 9])]
    scores = [np.array([0.9, 0.5, 0.7]), np.array([1.0, 2.0]), np.array([3.0, 2.0, 1.0])]
    # user 0: target 1 ranked third by score -> 1/log2(4); user 1: target 4 not recalled; user 2: target 7 first -> 1
    metrics = funnel_metrics(candidates, scores, np.array([1, 4, 7]), k=100, cut=10)
    assert metrics["recall@100"] == pytest.approx(2 / 3)
    assert metrics["ndcg@10"] == pytest.approx((1 / np.log2(4) + 1.0) / 3)
    assert funnel_metrics(candidates, scores, np.array([1, 4, 7]), cut=2)["ndcg@2"] == pytest.approx(1 / 3)


def test_a_second_build_reuses_the_models_and_fills_a_redis_store(tiny_demo, redis_url):
    from recstack.demos.movielens.command import build

    data, out, facts = tiny_demo
    stamp = (out / "rank" / "model.onnx").stat().st_mtime_ns
    assert build(data, out, redis_url, recall_overrides=TINY_RECALL, rank_overrides=TINY_RANK) == facts
    assert (out / "rank" / "model.onnx").stat().st_mtime_ns == stamp
    with open_store(redis_url) as redis_store, open_store(f"sqlite:///{out / 'store.db'}") as sqlite_store:
        assert redis_store.count("user") == 40 and redis_store.count("item") == 24
        by_redis = TestClient(create_app(Funnel(out, redis_store))).post("/api/recommend", json={"user_id": 7})
        by_sqlite = TestClient(create_app(Funnel(out, sqlite_store))).post("/api/recommend", json={"user_id": 7})
        assert by_redis.status_code == 200 and by_redis.json() == by_sqlite.json()
