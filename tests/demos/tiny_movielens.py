"""A tiny MovieLens folder (ML-1M format) with a planted taste, and the configs that train the demo on it in
seconds; shared by the demo tests (a module of its own: every test folder's conftest is named conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROMANCE, ACTION = range(1, 13), range(13, 25)
TINY_RECALL = ["runner.epochs=20", "runner.train_batch_size=64", "hyper_parameters.sparse_feature_number=4096",
               "hyper_parameters.sparse_feature_dim=8", "hyper_parameters.fc_sizes=[16]", "hyper_parameters.output_dim=8",
               "hyper_parameters.optimizer.learning_rate=0.02", "runner.print_interval=100000"]
TINY_RANK = ["runner.epochs=15", "runner.train_batch_size=64", "hyper_parameters.sparse_feature_number=4096",
             "hyper_parameters.sparse_feature_dim=4", "hyper_parameters.fc_sizes=[16]",
             "hyper_parameters.optimizer.learning_rate=0.02", "runner.print_interval=100000"]


def write_tiny_movielens(folder: Path, seed: int = 0) -> Path:
    """40 users: 1-20 women aged 25-34, grad students (ML-1M occupation 4), who like the 12 romances (movies 1-12)
    and dislike the 12 action films (13-24); 21-40 men aged 45-49, programmers (12), the other way round.
    Each user rates 7 movies of their genre (4-5 stars) and 3 of the other (1-2 stars)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    users = [f"{u}::{'F' if u <= 20 else 'M'}::{25 if u <= 20 else 45}::{4 if u <= 20 else 12}::{10000 + u}"
             for u in range(1, 41)]
    movies = [f"{m}::Love Story {m} (1990)::Romance|Drama" for m in ROMANCE] + \
             [f"{m}::Battle {m} (1995)::Action" for m in ACTION]
    ratings, time = [], 978300000
    for user in range(1, 41):
        liked, other = (ROMANCE, ACTION) if user <= 20 else (ACTION, ROMANCE)
        chosen = [(m, int(rng.integers(4, 6))) for m in rng.choice(liked, 7, replace=False)] + \
                 [(m, int(rng.integers(1, 3))) for m in rng.choice(other, 3, replace=False)]
        for index in rng.permutation(len(chosen)):
            time += 1
            ratings.append(f"{user}::{chosen[index][0]}::{chosen[index][1]}::{time}")
    for name, lines in (("users.dat", users), ("movies.dat", movies), ("ratings.dat", ratings)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="latin-1")
    return folder
