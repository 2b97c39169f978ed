"""Offline evaluation of the demo's funnel on the held-out ratings (each user's latest rating), through the same
Funnel the app serves (exported user tower, FAISS index, feature store, rank artifact).

For every user with a held-out movie t, the recall stage returns k = 100 movies the user has not rated:
    recall@100         = share of users whose t is among them
    NDCG@10 (recall)   = 1 / log2(1 + position of t) when t is in the recall order's top 10, else 0
    NDCG@10 (rank)     = the same after the rank model alone reorders the 100 candidates
    NDCG@10 (funnel)   = the same in the served order: recall logit + log rank probability (funnel.py)
averaged over all users (a user whose t was not recalled counts 0), plus the same figures on the users whose
held-out rating is a like (>= 4), and a most-popular baseline (training likes, rated movies excluded) for scale.
Positions and ties follow recstack.metrics.ranking.
"""

from __future__ import annotations

import numpy as np
import torch

from recstack.data.movielens_demo import MovieLensDemo
from recstack.demos.movielens.funnel import Funnel
from recstack.demos.movielens.records import LIKED
from recstack.metrics.ranking import ranking_metrics


def funnel_metrics(candidates: list[np.ndarray], scores: list[np.ndarray], targets: np.ndarray,
                   k: int = 100, cut: int = 10) -> dict[str, float]:
    """candidates[u] [<= k] movie ids, scores[u] the order to judge them by, targets [U] one movie per user."""
    found = np.array([t in c for c, t in zip(candidates, targets)])
    ndcg = 0.0
    for c, s, t in zip(candidates, scores, targets):
        if t in c:
            per_user = ranking_metrics(torch.tensor(s, dtype=torch.float32)[None], torch.tensor(c == t)[None], [cut])
            ndcg += float(per_user[f"ndcg@{cut}"][0])
    return {f"recall@{k}": float(found.mean()), f"ndcg@{cut}": ndcg / len(targets), "users": len(targets)}


def popular_candidates(demo: MovieLensDemo, users: list, k: int) -> list[np.ndarray]:
    train = demo.interactions("train")
    movies, counts = np.unique(train["movie_id"][train["rating"] >= LIKED], return_counts=True)
    ranked = movies[np.argsort(-counts, kind="stable")]
    return [ranked[~np.isin(ranked, user.rated)][:k] for user in users]


def evaluate_funnel(funnel: Funnel, demo: MovieLensDemo, k: int = 100, batch: int = 256) -> dict:
    test = demo.interactions("test")
    users = [funnel.known_user(int(u)) for u in test["user_id"]]
    recalled, recall_scores, rank_scores, funnel_scores = [], [], [], []
    for start in range(0, len(users), batch):
        part = users[start:start + batch]
        ids, scores = funnel.recall(part, k)
        recalled += ids
        recall_scores += scores
        like = funnel.rank(part, ids)
        rank_scores += like
        funnel_scores += [funnel.combine(r, p) for r, p in zip(scores, like)]
    popular = popular_candidates(demo, users, k)
    popular_order = [-np.arange(len(c), dtype=np.float32) for c in popular]
    report = {}
    for name, keep in (("all", np.ones(len(users), bool)), ("liked", test["rating"] >= LIKED)):
        rows = np.flatnonzero(keep)

        def pick(values: list) -> list:
            return [values[i] for i in rows]

        report[name] = {"recall_order": funnel_metrics(pick(recalled), pick(recall_scores), test["movie_id"][rows], k),
                        "rank_model": funnel_metrics(pick(recalled), pick(rank_scores), test["movie_id"][rows], k),
                        "funnel": funnel_metrics(pick(recalled), pick(funnel_scores), test["movie_id"][rows], k),
                        "most_popular": funnel_metrics(pick(popular), pick(popular_order), test["movie_id"][rows], k)}
    return report
