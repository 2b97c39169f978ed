"""MovieLens online-demo data: the leave-latest-out split on the real ML-100k, hashed features that encode the
same online as offline, store records, ML-1M parsing on fixture files, named errors, and a rank model learning
from the tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from recstack.data.batch import Batch
from recstack.data.movielens_demo import (MOVIE_SLOTS, NUM_EMBEDDINGS, SLOTS, USER_SLOTS, encode_users, hash_slot,
                                          latest_per_user, load_movielens_demo, title_bags)
from recstack.errors import DataFormatError, RecstackError
from recstack.serve.store import open_store

ML100K = Path("/work/shared/data/ml-100k")
ML1M = Path("/work/shared/data/ml-1m")


@pytest.fixture(scope="module")
def demo():
    return load_movielens_demo(ML100K)


@pytest.fixture(scope="module")
def ratings() -> np.ndarray:
    return np.loadtxt(ML100K / "u.data", dtype=np.int64)  # user, movie, rating, timestamp; row i = line i + 1


def test_each_users_latest_rating_is_the_test_row(demo, ratings):
    schema, train, test = demo.rank_tables()
    assert len(test["line"]) == 943 and len(train["line"]) == 100_000 - 943
    np.testing.assert_array_equal(np.sort(np.r_[train["line"], test["line"]]), np.arange(1, 100_001))
    user, ts = ratings[:, 0], ratings[:, 3]
    test_rows = test["line"] - 1
    assert sorted(user[test_rows]) == list(range(1, 944))
    latest = np.zeros(944, dtype=np.int64)
    np.maximum.at(latest, user, ts)
    np.testing.assert_array_equal(ts[test_rows], latest[user[test_rows]])
    at_latest = np.flatnonzero(ts == latest[user])  # several ratings in the user's latest second: the last line
    last_row = np.zeros(944, dtype=np.int64)
    np.maximum.at(last_row, user[at_latest], at_latest)
    np.testing.assert_array_equal(test_rows, last_row[user[test_rows]])
    assert len(at_latest) > 943  # the real data does have such ties, so the rule is exercised


def test_latest_per_user_reference_with_ties_and_single_ratings():
    user = np.array([1, 1, 2, 1, 3, 2, 2])
    timestamp = np.array([5, 9, 1, 9, 4, 7, 3])
    line = np.arange(1, 8)
    # user 1: two ratings at 9, the later line (4) wins; user 2: 7 at line 6; user 3 has one rating: kept in train
    assert latest_per_user(user, timestamp, line).tolist() == [False, False, False, True, False, True, False]


def test_tables_follow_the_batch_contract_and_labels_come_from_the_ratings(demo, ratings):
    rank_schema, rank_train, _ = demo.rank_tables()
    recall_schema, recall_train, _ = demo.recall_tables()
    assert [s.name for s in rank_schema.sparse] == list(SLOTS) and rank_schema.num_dense == 0
    assert [s.name for s in rank_schema.single_slots] == list(USER_SLOTS + MOVIE_SLOTS)
    assert {s.name: s.max_len for s in rank_schema.multi_slots} == {"genres": 6, "title": 8}
    assert rank_schema.labels == ("click",) and recall_schema.labels == ("rating",)
    n = len(rank_train["line"])
    assert rank_train["sparse"].shape == (n, 7) and rank_train["dense"].shape == (n, 0)
    assert rank_train["labels"].dtype == np.float32 and rank_train["sparse"].dtype == np.int64
    stars = ratings[rank_train["line"] - 1, 2]
    np.testing.assert_array_equal(rank_train["labels"][:, 0], stars >= 4)
    np.testing.assert_array_equal(recall_train["labels"][:, 0], stars)
    np.testing.assert_array_equal(recall_train["sparse"], rank_train["sparse"])
    ids = np.concatenate([rank_train["sparse"].ravel(), rank_train["seq:genres"].ravel(),
                          rank_train["seq:title"].ravel()])
    assert ids.min() >= 0 and ids.max() < NUM_EMBEDDINGS and (rank_train["sparse"] > 0).all()


def test_rows_carry_their_users_and_movies_features(demo, ratings):
    _, train, _ = demo.rank_tables()
    users, movies = demo.user_records(), demo.item_records()
    for row in (0, 500, 77_000):
        user, movie = ratings[train["line"][row] - 1, :2]
        assert train["sparse"][row].tolist() == ([users[user]["ids"][s] for s in USER_SLOTS] +
                                                 [movies[movie]["ids"][s] for s in MOVIE_SLOTS])
        genres = train["seq:genres"][row]
        assert genres[genres > 0].tolist() == movies[movie]["ids"]["genres"]


def test_hashing_is_per_slot_deterministic_and_never_padding():
    a = hash_slot("occupation", np.array(["writer", "writer", "artist"]))
    assert a[0] == a[1] != a[2] and (a >= 1).all() and (a < NUM_EMBEDDINGS).all()
    assert hash_slot("user_id", np.array([7]))[0] != hash_slot("movie_id", np.array([7]))[0]
    small = hash_slot("movie_id", np.arange(1000), num_embeddings=16)
    assert set(small.tolist()) == set(range(1, 16))  # 0 is reserved for padding
    bags = title_bags(np.array(["Toy Story (1995)", "Amélie (2001)", "(2000)"]))
    assert bags[0, :2].tolist() == hash_slot("title", np.array(["toy", "story"])).tolist()
    assert (bags[0, 2:] == 0).all() and bags[1, 0] == hash_slot("title", np.array(["amélie"]))[0]
    assert (bags[2] == 0).all()


def test_an_online_profile_encodes_like_the_offline_table(demo):
    record = demo.user_records()[1]
    raw_profile = {"user_id": 1, "gender": "M", "age": 24, "occupation": "technician", "zip": "85711"}
    assert encode_users({k: [v] for k, v in raw_profile.items()})[0].tolist() == \
        [record["ids"][s] for s in USER_SLOTS]
    with pytest.raises(RecstackError, match="missing the field 'zip'"):
        encode_users({"user_id": [1], "gender": ["M"], "age": [24], "occupation": ["technician"]})
    with pytest.raises(RecstackError, match="field 'age' must be an integer"):
        encode_users({**{k: [v] for k, v in raw_profile.items()}, "age": ["old"]})


def test_records_describe_movies_and_users_and_survive_the_store(demo, ratings):
    users, movies = demo.user_records(), demo.item_records()
    assert len(users) == 943 and len(movies) == 1682
    toy = movies[1]
    assert (toy["title"], toy["genres"], toy["year"]) == ("Toy Story (1995)", ["Animation", "Children's", "Comedy"],
                                                          1995)
    assert len(toy["ids"]["title"]) == 2 and len(toy["ids"]["genres"]) == 3
    assert movies[267]["year"] is None  # u.item has no release date for movie 267
    mine = ratings[ratings[:, 0] == 1]
    mine = mine[np.lexsort((np.arange(len(mine)), mine[:, 3]))][:-1]  # oldest first, the latest is the test row
    assert users[1]["rated"] == mine[:, 1].tolist()
    assert {k: users[1][k] for k in ("gender", "age", "occupation", "zip")} == \
        {"gender": "M", "age": 18, "occupation": "technician", "zip": "85"}
    with open_store() as store:
        store.put_users(users)
        store.put_items(movies)
        assert store.get_users([1, 943]) == [users[1], users[943]] and store.get_item(1682) == movies[1682]


def test_catalogue_and_interactions(demo, ratings):
    catalogue = demo.catalogue()
    assert catalogue["sparse"].shape == (1682, 2) and catalogue["line"].tolist() == list(range(1, 1683))
    assert catalogue["seq:title"].shape == (1682, 8)
    test = demo.interactions("test")
    assert len(test["user_id"]) == 943 and set(test) == {"user_id", "movie_id", "rating", "timestamp"}
    _, _, rank_test = demo.rank_tables()
    np.testing.assert_array_equal(test["movie_id"], ratings[rank_test["line"] - 1, 1])
    with pytest.raises(RecstackError, match="split must be"):
        demo.interactions("valid")


def write_ml1m(folder: Path, users: str, movies: str, ratings: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("users.dat", users), ("movies.dat", movies), ("ratings.dat", ratings)):
        (folder / name).write_bytes(text.encode("latin-1"))
    return folder


USERS_1M = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n"
MOVIES_1M = ("1::Toy Story (1995)::Animation|Children's|Comedy\n"
             "2::Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)::Comedy|Romance\n"
             "5::Father of the Bride Part II (1995)::Comedy\n")
RATINGS_1M = ("1::1::5::978300760\n1::2::3::978302109\n2::5::4::978298413\n"
              "2::1::2::978299000\n3::2::4::978297000\n1::5::4::978301968\n")


def test_ml1m_files_parse_into_the_same_tables(tmp_path: Path):
    demo = load_movielens_demo(write_ml1m(tmp_path / "ml-1m", USERS_1M, MOVIES_1M, RATINGS_1M), 1 << 16)
    assert demo.files.release == "ml-1m"
    users, movies = demo.user_records(), demo.item_records()
    assert {k: users[1][k] for k in ("gender", "age", "occupation", "zip")} == \
        {"gender": "F", "age": 1, "occupation": "K-12 student", "zip": "48"}
    assert users[2]["occupation"] == "self-employed" and users[1]["rated"] == [1, 5]  # movie 2 is their latest: test
    assert movies[2]["title"].startswith("Amélie") and movies[2]["year"] == 2001
    assert movies[2]["genres"] == ["Comedy", "Romance"]
    assert len(movies[2]["ids"]["title"]) == 7  # amélie fabuleux destin d amélie poulain le
    _, train, test = demo.rank_tables()
    assert sorted(test["line"].tolist()) == [2, 4]
    assert sorted(train["line"].tolist()) == [1, 3, 5, 6]  # user 3 has 1 rating: it trains
    np.testing.assert_array_equal(train["labels"][:, 0], [1, 1, 1, 1])


def test_real_ml1m_users_and_movies_parse(tmp_path: Path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    for name in ("users.dat", "movies.dat"):
        (folder / name).symlink_to(ML1M / name)
    (folder / "ratings.dat").write_text("6040::3952::5::978300000\n1::1::4::978300001\n")
    demo = load_movielens_demo(folder)
    assert len(demo.files.users["user_id"]) == 6040 and len(demo.files.movies["movie_id"]) == 3883
    assert (demo.files.movies["year"] >= 1919).all() and (demo.files.movies["genres"][:, 0] >= 1).all()
    assert demo.item_records()[3952]["title"] == "Contender, The (2000)"


@pytest.mark.parametrize("name, text, problem", [
    ("movies.dat", MOVIES_1M + "7::Sabrina (1995)::Comedy|Romcom\n", r"movies.dat:4: unknown genre 'Romcom'"),
    ("movies.dat", MOVIES_1M + "1::Again (1995)::Comedy\n", r"movies.dat:4: movie id 1 appears more than once"),
    ("users.dat", USERS_1M + "4::M::30::1::12345\n", r"users.dat:4: age must be one of the codes"),
    ("users.dat", USERS_1M + "4::X::25::1::12345\n", r"users.dat:4: gender must be M or F"),
    ("users.dat", USERS_1M + "4::M::25::21::12345\n", r"users.dat:4: occupation must be an integer in 0..20"),
    ("ratings.dat", RATINGS_1M + "9::1::4::978300000\n", r"ratings.dat:7: user id 9 is not in users.dat"),
    ("ratings.dat", RATINGS_1M + "1::1::6::978300000\n", r"ratings.dat:7: rating must be an integer in 1..5"),
    ("ratings.dat", RATINGS_1M + "1::1::4\n", r"ratings.dat:7: expected 4 '::'-separated fields, found 3"),
])
def test_malformed_ml1m_lines_are_named(tmp_path: Path, name, text, problem):
    files = {"users": USERS_1M, "movies": MOVIES_1M, "ratings": RATINGS_1M, name.removesuffix(".dat"): text}
    with pytest.raises(DataFormatError, match=problem):
        load_movielens_demo(write_ml1m(tmp_path / "ml-1m", files["users"], files["movies"], files["ratings"]))


def test_the_shared_ml1m_folder_without_ratings_says_so():
    with pytest.raises(DataFormatError, match="ratings.dat: file not found"):
        load_movielens_demo(ML1M)


def test_a_rank_model_learns_from_the_tables():
    from recstack.models.base import build_model, model_params_class
    from recstack.train.optim import build_optimizers

    torch.manual_seed(0)
    small = load_movielens_demo(ML100K, num_embeddings=1 << 16)
    schema, train, test = small.rank_tables()

    def batch(cols: dict, rows: slice | np.ndarray) -> Batch:
        return Batch(dense=torch.from_numpy(cols["dense"][rows]), sparse=torch.from_numpy(cols["sparse"][rows]),
                     sequences={s.name: torch.from_numpy(cols[f"seq:{s.name}"][rows]) for s in schema.multi_slots},
                     labels={"click": torch.from_numpy(cols["labels"][rows, 0])})

    params = model_params_class("fm").model_validate({"sparse_feature_dim": 8,
                                                      "optimizer": {"class": "Adam", "learning_rate": 0.01}})
    model = build_model("fm", schema, params)
    optimizer = build_optimizers(model, params.optimizer)
    for rows in np.array_split(np.random.default_rng(0).permutation(len(train["line"])), 100):
        b = batch(train, rows)
        optimizer.zero_grad()
        model.loss(model(b), b).backward()
        optimizer.step()
    with torch.no_grad():
        scores = model.predict(model(batch(test, slice(None))))["click"].numpy()
    # FM reaches ~0.78 here; scoring each movie by its mean training label gives 0.73
    assert roc_auc_score(test["labels"][:, 0], scores) > 0.75
