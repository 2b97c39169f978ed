"""The demo's HTTP app (FastAPI): the funnel's services and the page that drives them.

    GET  /                    the page (static/index.html + app.js): pick a user id or a profile, see movies
    GET  /health              {"status": "ok", "users": U, "movies": M, "store": url}
    GET  /api/options         profile choices: genders, occupations, user id range, age groups
    GET  /api/users/{id}      user profile from the feature store (404 unknown)
    GET  /api/items/{id}      movie info from the feature store (404 unknown)
    POST /api/recall          {"user_id": 1} or {"profile": {"gender": "F", "age": 25, "occupation": "student"}},
                              optional "k" (default 100) -> {"items": [ids], "scores": [...]}, best first
    POST /api/rank            the same user plus "candidates": [movie ids] -> {"items", "scores"} in request order
    POST /api/recommend       the same user plus optional "count" (default 10) -> {"user", "movies": [{movie_id,
                              title, genres, year, score, recall_score, reason}]}
A bad request gets a 4xx naming the field: 400 not JSON, 404 unknown user, 413 over the size limits,
422 a missing or malformed field (recstack.serve.app's handlers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response

from recstack import __version__
from recstack.demos.movielens.funnel import AGE_GROUPS, Funnel, User
from recstack.serve.app import HTTPProblem, install_error_handlers, json_response, read_json_body
from recstack.serve.store import MissingRecordError

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 << 10
MAX_K, MAX_COUNT, MAX_CANDIDATES = 1000, 100, 1000


def _integer(payload: dict, name: str, default: int | None, low: int, high: int, where: str = "") -> int:
    value = payload.get(name, default)
    if value is None:
        raise HTTPProblem(422, "missing field", field=where + name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HTTPProblem(422, f"expected an integer, got {type(value).__name__}", field=where + name)
    if not low <= value <= high:
        raise HTTPProblem(422, f"must be in [{low}, {high}], got {value}", field=where + name)
    return value


def parse_user(funnel: Funnel, payload: object) -> User:
    """{"user_id": id} or {"profile": {"gender", "age", "occupation"}} -> User; HTTPProblem names the field."""
    if not isinstance(payload, dict) or ("user_id" in payload) == ("profile" in payload):
        raise HTTPProblem(422, 'expected a JSON object with "user_id" (a known user) or "profile" (a new user: '
                               '{"gender": "F", "age": 25, "occupation": "student"})', field="user_id")
    if "user_id" in payload:
        user_id = _integer(payload, "user_id", None, -(1 << 63), (1 << 63) - 1)
        try:
            return funnel.known_user(user_id)
        except MissingRecordError:
            raise HTTPProblem(404, f"user {user_id} is not in the feature store; send a profile for a new user",
                              field="user_id") from None
    profile, facts = payload["profile"], funnel.facts
    if not isinstance(profile, dict):
        raise HTTPProblem(422, "expected an object {gender, age, occupation}", field="profile")
    for name, choices in (("gender", facts["genders"]), ("occupation", facts["occupations"])):
        if profile.get(name) not in choices:
            problem = "missing field" if name not in profile else f"must be one of {', '.join(choices)}"
            raise HTTPProblem(422, problem, field=f"profile.{name}")
    age = _integer(profile, "age", None, 1, 120, "profile.")
    return funnel.new_user(profile["gender"], age, profile["occupation"])


def create_app(funnel: Funnel) -> FastAPI:
    app = FastAPI(title="recstack MovieLens demo", version=__version__)
    install_error_handlers(app)

    @app.get("/")
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/app.js")
    async def script() -> FileResponse:
        return FileResponse(STATIC / "app.js", media_type="text/javascript")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "users": funnel.store.count("user"), "movies": funnel.store.count("item"),
                "store": funnel.store.url}

    @app.get("/api/options")
    async def options() -> dict:
        facts = funnel.facts
        return {"genders": facts["genders"], "occupations": facts["occupations"], "user_ids": facts["user_ids"],
                "age_groups": AGE_GROUPS}

    @app.get("/api/users/{user_id}")
    async def user(user_id: int) -> dict:
        return parse_user(funnel, {"user_id": user_id}).describe()

    @app.get("/api/items/{item_id}")
    async def item(item_id: int) -> dict:
        found = funnel.store.get_items([item_id], allow_missing=True)[0]
        if found is None:
            raise HTTPProblem(404, f"movie {item_id} is not in the feature store", field="item_id")
        return {k: v for k, v in found.items() if k != "ids"}

    @app.post("/api/recall")
    async def recall(request: Request) -> Response:
        payload = await read_json_body(request, MAX_BODY_BYTES)
        user = parse_user(funnel, payload)
        ids, scores = funnel.recall([user], _integer(payload, "k", 100, 1, MAX_K))
        return json_response({"items": ids[0].tolist(), "scores": scores[0].tolist()})

    @app.post("/api/rank")
    async def rank(request: Request) -> Response:
        payload = await read_json_body(request, MAX_BODY_BYTES)
        user = parse_user(funnel, payload)
        candidates = payload.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            raise HTTPProblem(422, "expected a non-empty list of movie ids", field="candidates")
        if len(candidates) > MAX_CANDIDATES:
            raise HTTPProblem(413, f"{len(candidates)} candidates is over the limit of {MAX_CANDIDATES}",
                              field="candidates")
        if not all(type(c) is int and -(1 << 63) <= c < 1 << 63 for c in candidates):
            raise HTTPProblem(422, "movie ids must be 64-bit integers", field="candidates")
        movies = np.array(candidates, dtype=np.int64)
        unknown = funnel.unknown_movies(movies)
        if len(unknown):
            raise HTTPProblem(422, f"unknown movie ids: {unknown[:10].tolist()}", field="candidates")
        return json_response({"items": candidates, "scores": funnel.rank([user], [movies])[0].tolist()})

    @app.post("/api/recommend")
    async def recommend(request: Request) -> Response:
        payload = await read_json_body(request, MAX_BODY_BYTES)
        user = parse_user(funnel, payload)
        movies = funnel.recommend(user, _integer(payload, "count", 10, 1, MAX_COUNT))
        return json_response({"user": user.describe(), "movies": movies})

    return app
