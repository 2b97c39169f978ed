"""MovieLens-100k or -1M original GroupLens files -> the same three raw tables (Harper & Konstan, "The MovieLens
Datasets: History and Context", ACM TiiS 2015).

    ML-100k  u.user  id|age|gender|occupation|zip      u.item  id|title|release date|...|19 genre flags
             u.data  user \\t movie \\t rating \\t timestamp
    ML-1M    users.dat   UserID::Gender::Age::Occupation::Zip-code   (age: bucket code, occupation: code 0-20)
             movies.dat  MovieID::Title (Year)::Genre1|Genre2|...
             ratings.dat UserID::MovieID::Rating::Timestamp          (all latin-1)

users   [U]: user_id, gender (M/F), age (the ML-1M bucket code: 1, 18, 25, 35, 45, 50, 56; ML-100k ages are
        bucketed the same way), occupation (its name), zip (first 2 characters), sorted by user_id;
movies  [M]: movie_id, title (as written), year (ML-100k: of the release date; ML-1M: the title's "(1995)";
        -1 unknown), genres [M, 6] indices into GENRES left-aligned, -1 = none; sorted by movie_id;
ratings [R]: user_row / movie_row (rows of the tables above), rating 1-5, timestamp, line (1-based, in the file).
The ML-100k side reuses the MovieLens CTR reader's parsers; malformed lines raise DataFormatError(file, line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from recstack.data.formats import movielens as ml100k
from recstack.data.formats.movielens import AGE_BUCKETS, GENRES, MAX_GENRES, MISSING_YEAR, ZIP_PREFIX
from recstack.errors import DataFormatError

OCCUPATIONS_1M = ("other", "academic/educator", "artist", "clerical/admin", "college/grad student",
                  "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
                  "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist", "self-employed",
                  "technician/engineer", "tradesman/craftsman", "unemployed", "writer")  # README codes 0..20
Table = dict[str, np.ndarray]


@dataclass(frozen=True)
class MovieLensFiles:
    release: str  # "ml-100k" or "ml-1m"
    users: Table
    movies: Table
    ratings: Table


def _read_100k(folder: Path) -> MovieLensFiles:
    users, items = ml100k._read_users(folder), ml100k._read_items(folder)
    path = folder / "u.item"
    table, lines = ml100k._table(path, "|", ["id", "title", "release", "video_release", "url"] +
                                 [f"g{g}" for g in range(len(GENRES))])
    titles = table["title"].str.strip_chars().to_numpy().astype(str)
    titles = titles[np.argsort(ml100k._integers(table, path, lines, "id", 1))]
    ratings = ml100k._read_ratings(folder, users["id"], items["id"])
    return MovieLensFiles(
        "ml-100k", {k: users[k] for k in ("user_id", "gender", "age", "occupation", "zip")},
        {"movie_id": items["item_id"], "title": titles, "year": items["year"], "genres": items["genres"]},
        {"user_row": ratings["user_row"], "movie_row": ratings["item_row"], **{
            k: ratings[k] for k in ("rating", "timestamp", "line")}})


def _check(path: Path, lines: np.ndarray, bad: np.ndarray, problem: str) -> None:
    if len(np.flatnonzero(bad)):
        raise DataFormatError(path, int(lines[np.flatnonzero(bad)[0]]), problem)


def _read_users_1m(path: Path) -> Table:
    table, lines = ml100k._table(path, "::", ["id", "gender", "age", "occupation", "zip"])
    ids = ml100k._integers(table, path, lines, "id", 1)
    ml100k._unique_ids(ids, path, lines, "user id")
    gender = table["gender"].str.strip_chars().to_numpy().astype(str)
    _check(path, lines, ~np.isin(gender, ["M", "F"]), "gender must be M or F")
    age = ml100k._integers(table, path, lines, "age", 1, 56)
    _check(path, lines, ~np.isin(age, AGE_BUCKETS), f"age must be one of the codes {AGE_BUCKETS.tolist()}")
    occupation = ml100k._integers(table, path, lines, "occupation", 0, len(OCCUPATIONS_1M) - 1)
    zips = table["zip"].str.strip_chars()
    _check(path, lines, (zips.str.len_chars() == 0).to_numpy(), "zip code is empty")
    order = np.argsort(ids)
    return {"user_id": ids[order], "gender": gender[order], "age": age[order],
            "occupation": np.array(OCCUPATIONS_1M)[occupation][order],
            "zip": zips.str.slice(0, ZIP_PREFIX).to_numpy().astype(str)[order]}


def _read_movies_1m(path: Path) -> Table:
    table, lines = ml100k._table(path, "::", ["id", "title", "genres"])
    ids = ml100k._integers(table, path, lines, "id", 1)
    ml100k._unique_ids(ids, path, lines, "movie id")
    titles = table["title"].str.strip_chars()
    _check(path, lines, (titles.str.len_chars() == 0).to_numpy(), "title is empty")
    year = titles.str.extract(r"\((\d{4})\)$", 1).cast(pl.Int64).fill_null(MISSING_YEAR).to_numpy()
    names = table["genres"].str.strip_chars().str.split("|")
    position = {name: g for g, name in enumerate(GENRES)}
    genres = np.full((len(ids), MAX_GENRES), -1, dtype=np.int64)
    for row, movie_genres in enumerate(names.to_list()):  # 3,883 short lists: a loop is clearer than a pivot
        unknown = [g for g in movie_genres if g not in position]
        if unknown or len(movie_genres) > MAX_GENRES:
            problem = f"unknown genre {unknown[0]!r}" if unknown else f"more than {MAX_GENRES} genres"
            raise DataFormatError(path, int(lines[row]), problem)
        genres[row, :len(movie_genres)] = sorted(position[g] for g in movie_genres)
    order = np.argsort(ids)
    return {"movie_id": ids[order], "title": titles.to_numpy().astype(str)[order], "year": year[order],
            "genres": genres[order]}


def _read_ratings_1m(path: Path, user_ids: np.ndarray, movie_ids: np.ndarray) -> Table:
    table, lines = ml100k._table(path, "::", ["user", "movie", "rating", "timestamp"])
    user = ml100k._integers(table, path, lines, "user", 1)
    movie = ml100k._integers(table, path, lines, "movie", 1)
    return {"user_row": ml100k._lookup(user, user_ids, path, lines, "user id", path.with_name("users.dat").name),
            "movie_row": ml100k._lookup(movie, movie_ids, path, lines, "movie id", "movies.dat"),
            "rating": ml100k._integers(table, path, lines, "rating", 1, 5),
            "timestamp": ml100k._integers(table, path, lines, "timestamp", 0), "line": lines}


def read_movielens(folder: str | Path) -> MovieLensFiles:
    """The raw tables of the release in `folder`: ML-1M when it holds ratings.dat, else ML-100k (u.data)."""
    folder = Path(folder)
    if (folder / "ratings.dat").exists() or ((folder / "users.dat").exists() and not (folder / "u.data").exists()):
        users, movies = _read_users_1m(folder / "users.dat"), _read_movies_1m(folder / "movies.dat")
        ratings = _read_ratings_1m(folder / "ratings.dat", users["user_id"], movies["movie_id"])
        return MovieLensFiles("ml-1m", users, movies, ratings)
    return _read_100k(folder)
