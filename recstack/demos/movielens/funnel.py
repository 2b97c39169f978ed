"""Online half of the demo: profile -> recall -> item info -> rank -> movies with a reason, over the folder the
pipeline wrote and a feature store. Every stage takes a batch, so the offline evaluation runs the same code.

    catalogue the store's movie records, read once at start (the catalogue does not change while serving; a
              read per request cost 1.4 ms of JSON for 100 candidates), with their slots as arrays for the ranker
    users     known: the store's profile, read per request (hashed ids, training movies, liked movies);
              new: gender, age (years), occupation -> the same slots, with user_id and zip the new-user id 0
    recall    user tower (onnxruntime) -> vector -> FAISS top-k movies, minus the movies the user already rated
    rank      user slots x each candidate's slots -> the rank artifact's probability that the user likes it
              (trained on the ratings, click = rating >= 4, plus sampled unrated movies as label 0)
    order     the recall logit (cosine x recall_scale: the in-batch softmax's logit, log-q corrected so it
              estimates log P(watch) over all movies) plus the log of the rank probability: both stages vote,
              in log-probability units
    reasons   known user: the liked movie nearest the recommendation in the two-tower space;
              new user: how many people of the same gender and age group liked it
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recstack.data.formats.movielens import AGE_BUCKETS
from recstack.data.movielens_demo import MOVIE_BAGS, MOVIE_SLOTS, USER_SLOTS, encode_users
from recstack.demos.movielens.pipeline import COLD_START_SLOTS
from recstack.export.predictor import Predictor
from recstack.export.runtime import open_runtime
from recstack.serve.index import VectorIndex
from recstack.serve.store import FeatureStore

AGE_GROUPS = {1: "under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56 and over"}
PEOPLE = {"F": "women", "M": "men"}


@dataclass
class User:
    gender: str
    age: int  # years or an ML-1M bucket code
    occupation: str
    ids: np.ndarray  # [5] hashed USER_SLOTS
    user_id: int | None = None  # None for a new user
    rated: list[int] = field(default_factory=list)
    liked: list[int] = field(default_factory=list)

    @property
    def age_group(self) -> int:
        return int(AGE_BUCKETS[max(np.searchsorted(AGE_BUCKETS, self.age, side="right") - 1, 0)])

    def describe(self) -> dict:
        return {"user_id": self.user_id, "gender": self.gender, "age": self.age, "occupation": self.occupation,
                "rated": len(self.rated), "liked": len(self.liked)}


class Funnel:
    def __init__(self, folder: Path, store: FeatureStore, threads: int = 1):
        folder = Path(folder)
        self.facts = json.loads((folder / "demo.json").read_text())
        self.num_embeddings = self.facts["num_embeddings"]
        self.recall_scale = self.facts["recall"]["logit_scale"]
        self.user_tower = open_runtime("onnx", folder / "recall" / "user_tower.onnx", ["user"], threads)
        self.index = VectorIndex.load(folder / "recall" / "index.npz")
        self.movie_ids = np.sort(self.index.ids)  # item_vectors.npy rows are in movie-id order
        self.vectors = np.load(folder / "recall" / "item_vectors.npy")
        self.ranker = Predictor(folder / "rank", threads)
        self.store = store
        self.items = dict(zip(self.movie_ids.tolist(), store.get_items(self.movie_ids)))
        records = list(self.items.values())
        self.item_slots = {"sparse": np.array([[r["ids"][s] for s in MOVIE_SLOTS] for r in records], np.int64)}
        for bag in MOVIE_BAGS:
            padded = np.zeros((len(records), bag.max_len), np.int64)
            for row, record in enumerate(records):
                padded[row, :len(record["ids"][bag.name])] = record["ids"][bag.name][:bag.max_len]
            self.item_slots[f"seq:{bag.name}"] = padded

    def unknown_movies(self, movies: np.ndarray) -> np.ndarray:
        return movies[~np.isin(movies, self.movie_ids)]

    def known_user(self, user_id: int) -> User:
        """The store's profile; MissingRecordError (a KeyError) for an unknown id."""
        r = self.store.get_user(user_id)
        return User(r["gender"], r["age"], r["occupation"], np.array([r["ids"][s] for s in USER_SLOTS]), user_id,
                    r["rated"], r.get("liked", []))

    def new_user(self, gender: str, age: int, occupation: str) -> User:
        ids = encode_users({"user_id": [0], "gender": [gender], "age": [age], "occupation": [occupation],
                            "zip": [""]}, self.num_embeddings)[0]
        ids[list(COLD_START_SLOTS)] = 0
        return User(gender, age, occupation, ids)

    def recall(self, users: list[User], k: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per user: the top-k movie ids not yet rated and their scores (cosine), best first."""
        vectors = self.user_tower({"user": np.stack([u.ids for u in users]).astype(np.int64)})
        depth = min(len(self.index), k + max(len(u.rated) for u in users))
        found, scores = self.index.search(vectors, depth)
        ids, kept_scores = [], []
        for user, row, row_scores in zip(users, found, scores):
            keep = (row >= 0) & ~np.isin(row, user.rated)
            ids.append(row[keep][:k])
            kept_scores.append(row_scores[keep][:k])
        return ids, kept_scores

    def rank(self, users: list[User], candidates: list[np.ndarray]) -> list[np.ndarray]:
        """Rank-model probabilities of each user's candidate movie ids (all in the catalogue), in the order given."""
        counts = [len(row) for row in candidates]
        rows = np.searchsorted(self.movie_ids, np.concatenate(candidates))
        columns = {name: values[rows] for name, values in self.item_slots.items()}
        columns["sparse"] = np.concatenate([np.repeat(np.stack([u.ids for u in users]), counts, axis=0),
                                            columns["sparse"]], axis=1)
        columns["dense"] = np.zeros((len(rows), 0), np.float32)
        scores = self.ranker.score(columns)[:, 0]
        return np.split(scores, np.cumsum(counts)[:-1])

    def recommend(self, user: User, count: int = 10, k: int = 100) -> list[dict]:
        """Top `count` of the k recalled movies by rank score, with title, genres, year, scores and a reason."""
        ids, recall_scores = self.recall([user], k)
        like = self.rank([user], ids)[0]
        scores = self.combine(recall_scores[0], like)
        best = np.argsort(-scores, kind="stable")[:count]
        chosen = [self.items[int(ids[0][i])] for i in best]
        reasons = self.reasons(user, [item["movie_id"] for item in chosen])
        return [{"movie_id": item["movie_id"], "title": item["title"], "genres": item["genres"], "year": item["year"],
                 "score": float(scores[i]), "recall_score": float(recall_scores[0][i]), "like": float(like[i]),
                 "reason": reason}
                for i, item, reason in zip(best, chosen, reasons)]

    def combine(self, recall_scores: np.ndarray, like: np.ndarray) -> np.ndarray:
        """log P(watch) + log P(like | watch), up to a per-user constant (see the module docstring)."""
        return self.recall_scale * recall_scores + np.log(np.maximum(like, 1e-7))

    def reasons(self, user: User, movies: list[int]) -> list[str]:
        if user.liked:
            liked = np.array(user.liked)
            nearest = liked[np.argmax(self._vectors(movies) @ self._vectors(liked).T, axis=1)]
            return [f"because you liked {self.items[int(m)]['title']}" for m in nearest]
        group = f"{PEOPLE[user.gender]} aged {AGE_GROUPS[user.age_group]}"
        likes = self.facts["group_likes"].get(f"{user.gender}|{user.age_group}", {})
        return [f"liked by {likes[str(m)]} {group}" if str(m) in likes else f"for {group} who work as {user.occupation}"
                for m in movies]

    def _vectors(self, movies) -> np.ndarray:
        return self.vectors[np.searchsorted(self.movie_ids, movies)]
