"""What the demo puts in the feature store and what the page and the reasons need to know about the profiles."""

from __future__ import annotations

from collections import Counter

import numpy as np

from recstack.data.movielens_demo import MovieLensDemo
from recstack.serve.store import FeatureStore
from recstack.train.trainer import log

LIKED = 4  # a rating >= 4 is a "like" (the rank label, the recall positives)


def store_records(demo: MovieLensDemo) -> tuple[dict[int, dict], dict[int, dict]]:
    """The data module's user and item records; users also get `liked`: their training movies rated >= 4."""
    users, train = demo.user_records(), demo.interactions("train")
    for user, movie in zip(train["user_id"][train["rating"] >= LIKED], train["movie_id"][train["rating"] >= LIKED]):
        users[int(user)].setdefault("liked", []).append(int(movie))
    return users, demo.item_records()


def fill_store(store: FeatureStore, demo: MovieLensDemo) -> None:
    users, items = store_records(demo)
    store.put_users(users)
    store.put_items(items)
    log(f"feature store {store.url}: {store.count('user')} users, {store.count('item')} movies")


def profile_facts(demo: MovieLensDemo) -> dict:
    """What the page offers and what reasons cite: occupations, and the movies each gender x age group liked."""
    users, train = demo.files.users, demo.interactions("train")
    rows = np.searchsorted(users["user_id"], train["user_id"])
    liked = train["rating"] >= LIKED
    groups: dict[str, Counter] = {}
    for gender, age, movie in zip(users["gender"][rows][liked], users["age"][rows][liked], train["movie_id"][liked]):
        groups.setdefault(f"{gender}|{age}", Counter())[int(movie)] += 1
    return {"occupations": sorted(set(users["occupation"].tolist())), "genders": ["F", "M"],
            "user_ids": [int(users["user_id"].min()), int(users["user_id"].max())],
            "group_likes": {group: dict(counts.most_common(300)) for group, counts in sorted(groups.items())}}
