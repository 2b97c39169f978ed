"""Top-K metrics for recall: Recall@K, HR@K, NDCG@K, MRR@K over a batch of users' scores.

The ranked list of a user is every column sorted by score, highest first, ties broken by the lower column
index (so results do not depend on torch.topk's tie order). For a user with targets T (the held-out items):
  Recall@K = |top K ∩ T| / |T|
  HR@K     = 1 if top K ∩ T is not empty
  NDCG@K   = sum over hits at rank r (1-based) of 1/log2(r + 1), divided by the same sum for |T| hits at ranks
             1..min(|T|, K)
  MRR@K    = 1 / rank of the first hit within K, 0 without one
averaged over users with at least one target (users without targets are skipped). K larger than the number of
columns means the whole list. Excluded items (the user's history) are scored -inf by the caller.
"""

from __future__ import annotations

import torch

METRIC_NAMES = ("recall", "hr", "ndcg", "mrr")


def top_k_items(scores: torch.Tensor, k: int) -> torch.Tensor:
    """[B, C] scores -> [B, min(k, C)] column indices, best first, ties to the lower index."""
    rows, columns = scores.shape
    k = min(k, columns)
    ids = scores.topk(k, dim=1).indices
    kth = scores.gather(1, ids[:, -1:])
    # Rows where more than k columns reach the k-th score tie at the cut: which tied columns make the list is
    # decided by index, over the whole row (rare with learned scores, common with counts such as ItemCF's).
    cut_ties = ((scores >= kth).sum(1, dtype=torch.int32) > k).nonzero()[:, 0]
    if len(cut_ties):
        tied_rows = scores[cut_ties]
        above, tied = tied_rows > kth[cut_ties], tied_rows == kth[cut_ties]
        chosen = above | (tied & (tied.cumsum(1) <= k - above.sum(1, keepdim=True)))
        ids[cut_ties] = chosen.nonzero()[:, 1].view(len(cut_ties), k)
    ids = ids.sort(dim=1).values  # ascending columns, so the stable sort below puts equal scores in index order
    order = scores.gather(1, ids).sort(dim=1, descending=True, stable=True).indices
    return ids.gather(1, order)


def ranking_metrics(scores: torch.Tensor, targets: torch.Tensor, ks: list[int]) -> dict[str, torch.Tensor]:
    """scores [B, C], targets [B, C] bool -> {"recall@K": [B'] per-user values, ...} for the B' users with targets."""
    has_targets = targets.any(1)
    scores, targets = scores[has_targets], targets[has_targets]
    hits = targets.gather(1, top_k_items(scores, max(ks))).float()  # [B', K]
    num_targets = targets.sum(1).float()
    discounts = 1.0 / torch.log2(torch.arange(2, hits.shape[1] + 2, dtype=torch.float32))
    first_hit = torch.where(hits.any(1), hits.argmax(1).float() + 1, torch.inf)
    out: dict[str, torch.Tensor] = {}
    for k in ks:
        top = hits[:, :k]
        ideal = discounts.cumsum(0)[(num_targets.clamp(max=top.shape[1]) - 1).long()]
        out[f"recall@{k}"] = top.sum(1) / num_targets
        out[f"hr@{k}"] = top.any(1).float()
        out[f"ndcg@{k}"] = (top * discounts[:top.shape[1]]).sum(1) / ideal
        out[f"mrr@{k}"] = torch.where(first_hit <= k, 1.0 / first_hit, 0.0)
    return out


class TopKMetrics:
    """Streaming means of `ranking_metrics` over batches of users; mergeable across ranks."""

    def __init__(self, ks: list[int]):
        if not ks or min(ks) < 1:
            raise ValueError(f"top-K cut-offs must be positive integers, got {ks}")
        self.ks = sorted(set(ks))
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, float] = {f"{m}@{k}": 0.0 for k in self.ks for m in METRIC_NAMES}
        self.users = 0

    def update(self, scores: torch.Tensor, targets: torch.Tensor) -> None:
        per_user = ranking_metrics(scores, targets, self.ks)
        for name, values in per_user.items():
            self.sums[name] += float(values.sum())
        self.users += int(targets.any(1).sum())

    def merge(self, other: "TopKMetrics") -> None:
        for name, value in other.sums.items():
            self.sums[name] += value
        self.users += other.users

    def compute(self) -> dict[str, float]:
        return {name: total / max(self.users, 1) for name, total in self.sums.items()}
