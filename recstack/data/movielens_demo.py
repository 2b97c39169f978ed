"""MovieLens online-demo data: hashed user and movie features, a per-user leave-latest-out split, the training
tables of a two-tower recall model and of a rank model, and the records the feature store serves.

Features (slots, in schema order; single-valued first, then the movie's bags):
  user:  user_id, gender, age (ML-1M bucket code), occupation, zip (first 2 characters)
  movie: movie_id, year, genres (bag of up to 6), title (bag of its first 8 lower-cased words, "(1995)" dropped)
Ids are hashed, so a profile never seen offline encodes online with no vocabulary: a value's key is the
integer itself or, for strings, the first 6 bytes of its BLAKE2b digest, and
    id = 1 + hash_ids([[key * 64 + field]], num_embeddings - 1)        (the Criteo reader's splitmix64 hash)
with `field` the slot's position in SLOTS; id 0 stays the padding id of bags.
Split: each user's latest rating (largest timestamp, then the later line) is the test row when the user has
at least 2 ratings; everything else trains. Tables follow the Batch contract (recstack.data.formats):
  rank_tables():   all slots, label "click" = rating >= 4;
  recall_tables(): the same rows and slots, label "rating" (1-5), for PaddleRec's movie-demo two-tower recall
                   (cosine x 5 regressed on the rating) or in-batch softmax over the positive pairs;
  catalogue():     one row per movie, the movie slots only (MOVIE_SLOTS order), to embed the whole catalogue.
Records for the feature store (recstack.serve.store), JSON-ready, keyed by the raw id:
  user_records():  user_id, gender, age, occupation, zip, rated (training movie ids, oldest first),
                   ids {slot: hashed id};
  item_records():  movie_id, title, genres (names), year (None if unknown), ids {slot: id or bag without padding}.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import polars as pl

from recstack.data.formats import Columns
from recstack.data.formats.criteo import hash_ids
from recstack.data.formats.movielens import AGE_BUCKETS, GENRES, MAX_GENRES, ZIP_PREFIX
from recstack.data.movielens_files import MovieLensFiles, read_movielens
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.errors import RecstackError

USER_SLOTS = ("user_id", "gender", "age", "occupation", "zip")
MOVIE_SLOTS = ("movie_id", "year")
MAX_TITLE_WORDS = 8
MOVIE_BAGS = (SparseSlot("genres", MAX_GENRES), SparseSlot("title", MAX_TITLE_WORDS))
SLOTS = USER_SLOTS + MOVIE_SLOTS + tuple(bag.name for bag in MOVIE_BAGS)
STRING_SLOTS = ("gender", "occupation", "zip", "genres", "title")
NUM_EMBEDDINGS = 1 << 20


def string_keys(values: np.ndarray) -> np.ndarray:
    """Stable int64 keys of strings (first 6 bytes of BLAKE2b), hashed once per distinct value."""
    distinct, inverse = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    keys = np.array([int.from_bytes(hashlib.blake2b(v.encode(), digest_size=6).digest(), "little")
                     for v in distinct], dtype=np.int64)
    return keys[inverse].reshape(np.shape(values))


def hash_slot(slot: str, values: np.ndarray, num_embeddings: int = NUM_EMBEDDINGS) -> np.ndarray:
    """Raw values of one slot (any shape) -> ids in [1, num_embeddings); see the module docstring."""
    values = np.asarray(values)
    keys = string_keys(values) if slot in STRING_SLOTS else values.astype(np.int64)
    flat = (keys.reshape(-1, 1) * 64 + SLOTS.index(slot)).astype(np.int64)
    return 1 + hash_ids(flat, num_embeddings - 1).reshape(values.shape)


def encode_users(users: Mapping[str, Sequence], num_embeddings: int = NUM_EMBEDDINGS) -> np.ndarray:
    """Profiles as columns (user_id, gender, age (years or bucket code), occupation, zip) -> ids [U, 5]."""
    missing = [slot for slot in USER_SLOTS if slot not in users]
    if missing:
        raise RecstackError(f"user profile is missing the field {missing[0]!r} (needs {', '.join(USER_SLOTS)})")
    columns = {}
    for slot in ("user_id", "age"):
        try:
            columns[slot] = np.asarray(users[slot], dtype=np.int64)
        except (TypeError, ValueError) as error:
            raise RecstackError(f"user profile field {slot!r} must be an integer: {error}") from error
    columns["age"] = AGE_BUCKETS[np.maximum(np.searchsorted(AGE_BUCKETS, columns["age"], side="right") - 1, 0)]
    columns["gender"], columns["occupation"] = np.asarray(users["gender"], str), np.asarray(users["occupation"], str)
    columns["zip"] = np.asarray(users["zip"], str).astype(f"<U{ZIP_PREFIX}")  # a full zip code or its prefix
    return np.stack([hash_slot(slot, columns[slot], num_embeddings) for slot in USER_SLOTS], axis=1)


def title_bags(titles: np.ndarray, num_embeddings: int = NUM_EMBEDDINGS) -> np.ndarray:
    """Titles [M] -> [M, MAX_TITLE_WORDS] ids of their first lower-cased words, 0 = padding."""
    words = (pl.Series(titles, dtype=pl.String).str.replace(r"\s*\(\d{4}\)$", "").str.to_lowercase()
             .str.extract_all(r"\w+").list.head(MAX_TITLE_WORDS))
    lengths = words.list.len().to_numpy().astype(np.int64)
    flat = words.explode().drop_nulls().to_numpy().astype(str)
    bags = np.zeros((len(titles), MAX_TITLE_WORDS), dtype=np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    bags[np.repeat(np.arange(len(titles)), lengths), np.arange(len(flat)) - starts] = hash_slot("title", flat,
                                                                                                num_embeddings)
    return bags


def latest_per_user(user: np.ndarray, timestamp: np.ndarray, line: np.ndarray) -> np.ndarray:
    """True for each user's latest rating (ties: the later line), for users with at least 2 ratings."""
    order = np.lexsort((line, timestamp, user))
    last = np.r_[user[order][1:] != user[order][:-1], True]
    many = np.bincount(user)[user[order]] >= 2
    held_out = np.zeros(len(user), dtype=bool)
    held_out[order[last & many]] = True
    return held_out


@dataclass(frozen=True)
class MovieLensDemo:
    files: MovieLensFiles
    num_embeddings: int = NUM_EMBEDDINGS

    @cached_property
    def user_ids(self) -> np.ndarray:
        """[U, 5] hashed USER_SLOTS per row of files.users."""
        return encode_users(self.files.users, self.num_embeddings)

    @cached_property
    def movie_ids(self) -> Columns:
        """sparse [M, 2] hashed MOVIE_SLOTS, seq:genres [M, 6], seq:title [M, 8] per row of files.movies."""
        movies, n = self.files.movies, self.num_embeddings
        genre_names = np.array(GENRES)[np.maximum(movies["genres"], 0)]
        return {"sparse": np.stack([hash_slot(s, movies[s], n) for s in MOVIE_SLOTS], axis=1),
                "seq:genres": np.where(movies["genres"] >= 0, hash_slot("genres", genre_names, n), 0),
                "seq:title": title_bags(movies["title"], n)}

    @cached_property
    def is_test(self) -> np.ndarray:
        ratings = self.files.ratings
        return latest_per_user(ratings["user_row"], ratings["timestamp"], ratings["line"])

    def schema(self, label: str) -> FeatureSchema:
        singles = tuple(SparseSlot(s) for s in USER_SLOTS + MOVIE_SLOTS)
        return FeatureSchema(sparse=singles + MOVIE_BAGS, num_dense=0, labels=(label,),
                             num_embeddings=self.num_embeddings)

    def _table(self, rows: np.ndarray, labels: np.ndarray) -> Columns:
        users, movies = self.files.ratings["user_row"][rows], self.files.ratings["movie_row"][rows]
        return {"labels": labels[rows, None].astype(np.float32), "dense": np.zeros((len(rows), 0), np.float32),
                "sparse": np.concatenate([self.user_ids[users], self.movie_ids["sparse"][movies]], axis=1),
                **{f"seq:{b.name}": self.movie_ids[f"seq:{b.name}"][movies] for b in MOVIE_BAGS},
                "line": self.files.ratings["line"][rows].astype(np.int64)}

    def _tables(self, label: str, values: np.ndarray) -> tuple[FeatureSchema, Columns, Columns]:
        train, test = np.flatnonzero(~self.is_test), np.flatnonzero(self.is_test)
        return self.schema(label), self._table(train, values), self._table(test, values)

    def rank_tables(self) -> tuple[FeatureSchema, Columns, Columns]:
        return self._tables("click", self.files.ratings["rating"] >= 4)

    def recall_tables(self) -> tuple[FeatureSchema, Columns, Columns]:
        return self._tables("rating", self.files.ratings["rating"])

    def catalogue(self) -> Columns:
        return {**self.movie_ids, "line": self.files.movies["movie_id"].astype(np.int64)}

    def interactions(self, split: str) -> dict[str, np.ndarray]:
        """Raw user_id, movie_id, rating, timestamp of the "train" or "test" ratings, in file order."""
        if split not in ("train", "test"):
            raise RecstackError(f"split must be 'train' or 'test', got {split!r}")
        rows = np.flatnonzero(self.is_test == (split == "test"))
        ratings = self.files.ratings
        return {"user_id": self.files.users["user_id"][ratings["user_row"][rows]],
                "movie_id": self.files.movies["movie_id"][ratings["movie_row"][rows]],
                "rating": ratings["rating"][rows], "timestamp": ratings["timestamp"][rows]}

    def user_records(self) -> dict[int, dict]:
        users, train = self.files.users, self.interactions("train")
        order = np.lexsort((train["timestamp"], train["user_id"]))  # stable: equal timestamps keep file order
        user_rows = np.searchsorted(users["user_id"], train["user_id"][order])
        rated = np.split(train["movie_id"][order], np.cumsum(np.bincount(user_rows, minlength=len(users["user_id"]))))
        return {int(user): {"user_id": int(user), "gender": str(users["gender"][r]), "age": int(users["age"][r]),
                            "occupation": str(users["occupation"][r]), "zip": str(users["zip"][r]),
                            "rated": rated[r].tolist(), "ids": dict(zip(USER_SLOTS, self.user_ids[r].tolist()))}
                for r, user in enumerate(users["user_id"])}

    def item_records(self) -> dict[int, dict]:
        movies, ids = self.files.movies, self.movie_ids
        records = {}
        for r, movie in enumerate(movies["movie_id"]):
            year = int(movies["year"][r])
            bags = {b.name: [int(i) for i in ids[f"seq:{b.name}"][r] if i] for b in MOVIE_BAGS}
            records[int(movie)] = {"movie_id": int(movie), "title": str(movies["title"][r]),
                                   "genres": [GENRES[g] for g in movies["genres"][r] if g >= 0],
                                   "year": year if year >= 0 else None,
                                   "ids": {**dict(zip(MOVIE_SLOTS, ids["sparse"][r].tolist())), **bags}}
        return records


def load_movielens_demo(folder: str | Path, num_embeddings: int = NUM_EMBEDDINGS) -> MovieLensDemo:
    """The demo data of the MovieLens-100k or -1M release in `folder` (see recstack.data.movielens_files)."""
    if num_embeddings < 2:
        raise RecstackError(f"num_embeddings must be at least 2 (id 0 is padding), got {num_embeddings}")
    return MovieLensDemo(read_movielens(folder), num_embeddings)
