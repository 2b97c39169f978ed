"""Top-K ranking metrics against a brute-force reference: a Python sort per user, ties to the lower index."""

from __future__ import annotations

import math

import pytest
import torch

from recstack.metrics.ranking import TopKMetrics, ranking_metrics, top_k_items


def reference(scores: list[float], targets: set[int], k: int) -> dict[str, float]:
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    hits = [i in targets for i in ranked]
    ideal = sum(1 / math.log2(r + 2) for r in range(min(len(targets), k)))
    first = next((r + 1 for r, h in enumerate(hits) if h), None)
    return {"recall": sum(hits) / len(targets), "hr": float(any(hits)),
            "ndcg": sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h) / ideal,
            "mrr": 1 / first if first else 0.0}


def brute_force(scores: torch.Tensor, found: torch.Tensor, ks: list[int]) -> dict[str, float]:
    rows = [r for r in range(len(scores)) if found[r].any()]
    out = {}
    for k in ks:
        per_user = [reference(scores[r].tolist(), set(found[r].nonzero().flatten().tolist()), k) for r in rows]
        out.update({f"{m}@{k}": sum(u[m] for u in per_user) / len(per_user) for m in ("recall", "hr", "ndcg", "mrr")})
    return out


def test_top_k_breaks_ties_by_lower_index_and_caps_k():
    scores = torch.tensor([[1.0, 3.0, 3.0, 0.0, 3.0], [float("-inf"), 2.0, 2.0, 2.0, 2.0]])
    assert top_k_items(scores, 2).tolist() == [[1, 2], [1, 2]]
    assert top_k_items(scores, 4).tolist() == [[1, 2, 4, 0], [1, 2, 3, 4]]
    assert top_k_items(scores, 99).tolist() == [[1, 2, 4, 0, 3], [1, 2, 3, 4, 0]]


@pytest.mark.parametrize("k", [1, 3, 8, 40])
def test_top_k_matches_a_sort_when_only_some_rows_tie(k):
    generator = torch.Generator().manual_seed(k)
    scores = torch.rand(30, 40, generator=generator)  # no ties
    scores[::3] = torch.randint(0, 4, (10, 40), generator=generator).float()  # ties at and inside the cut
    scores[1::3, 5:] = scores[1::3, :5].repeat(1, 7)  # the same scores repeated at higher indices
    expected = [sorted(range(40), key=lambda i: (-row[i], i))[:k] for row in scores.tolist()]
    assert top_k_items(scores, k).tolist() == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_brute_force_with_ties_and_large_k(seed):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, 6, (40, 30), generator=generator).float()  # many ties
    scores[:, :3] = float("-inf")  # excluded history
    found = torch.rand(40, 30, generator=generator) < 0.1
    found[5] = False  # a user without targets: skipped
    ks = [1, 5, 10, 50]  # 50 > 30 items
    metrics = TopKMetrics(ks)
    for rows in (slice(0, 17), slice(17, 40)):  # streaming over two batches
        metrics.update(scores[rows], found[rows])
    expected = brute_force(scores, found, ks)
    got = metrics.compute()
    assert set(got) == set(expected)
    for name in expected:
        assert got[name] == pytest.approx(expected[name], abs=1e-6), name
    assert metrics.users == int(found.any(1).sum())


def test_known_values_and_merge():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4]])
    found = torch.tensor([[False, True, False, True], [True, False, False, False]])
    per_user = ranking_metrics(scores, found, [2])
    assert per_user["recall@2"].tolist() == pytest.approx([0.5, 0.0])
    assert per_user["ndcg@2"].tolist() == pytest.approx([(1 / math.log2(3)) / (1 + 1 / math.log2(3)), 0.0])
    assert per_user["mrr@2"].tolist() == pytest.approx([0.5, 0.0])
    first, second = TopKMetrics([2]), TopKMetrics([2])
    first.update(scores[:1], found[:1])
    second.update(scores[1:], found[1:])
    first.merge(second)
    assert first.compute()["hr@2"] == pytest.approx(0.5)


def test_no_users_with_targets_gives_zeros_and_bad_k_is_rejected():
    metrics = TopKMetrics([5])
    metrics.update(torch.rand(3, 4), torch.zeros(3, 4, dtype=torch.bool))
    assert metrics.compute()["ndcg@5"] == 0.0
    with pytest.raises(ValueError, match="positive"):
        TopKMetrics([0])
