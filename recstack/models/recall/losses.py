"""Training losses of recall models, over scores or vectors the model produced.

Shapes: B rows, n negatives per row, d embedding width. Every loss returns a scalar mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bpr(positive: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """BPR (Rendle et al., UAI 2009): -log sigmoid(s_pos - s_neg); positive [B], negatives [B, n]."""
    return -F.logsigmoid(positive.unsqueeze(1) - negatives).mean()


def binary_cross_entropy(positive: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """Positives labelled 1, sampled negatives 0 (SASRec's and NCF's loss); positive [B], negatives [B, n]."""
    return (F.softplus(-positive).sum() + F.softplus(negatives).sum()) / positive.numel()


def sampled_softmax(positive: torch.Tensor, negatives: torch.Tensor, hit: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of the positive against sampled negatives (Jean et al. 2015; YouTube-DNN, Covington et al.
    2016); positive [B], negatives [B, n] (or [n] shared by all rows); `hit` [B, n] masks negatives that are the
    positive itself. Uniform sampling needs no log-q correction: it shifts every logit by the same constant."""
    negatives = negatives.expand(positive.shape[0], -1)
    if hit is not None:
        negatives = negatives.masked_fill(hit, float("-inf"))
    logits = torch.cat([positive.unsqueeze(1), negatives], dim=1)
    return -logits.log_softmax(dim=1)[:, 0].mean()


def in_batch_softmax(users: torch.Tensor, items: torch.Tensor, item_ids: torch.Tensor,
                     log_q: torch.Tensor | None = None, temperature: float = 1.0) -> torch.Tensor:
    """Each row's positive against the other rows' positives (Yi et al., RecSys 2019), with the log-q correction
    (subtract log of each item's sampling probability, here its popularity) when log_q [B] is given.
    users, items [B, d]; rows with the same item are not negatives of each other."""
    logits = users @ items.T / temperature
    if log_q is not None:
        logits = logits - log_q.unsqueeze(0)
    same_item = (item_ids.unsqueeze(0) == item_ids.unsqueeze(1)) & ~torch.eye(len(item_ids), dtype=torch.bool)
    logits = logits.masked_fill(same_item, float("-inf"))
    return F.cross_entropy(logits, torch.arange(len(item_ids)))


def full_softmax(hidden: torch.Tensor, item_table: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over every item (column 0, padding, excluded); hidden [M, d], item_table [N + 1, d], targets [M]."""
    logits = hidden @ item_table.T
    logits[:, 0] = float("-inf")
    return F.cross_entropy(logits, targets)


def cosine_rating(users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor, scale: float = 5.0) -> torch.Tensor:
    """PaddleRec's movie-recommendation recall: scale * cos(user, item) regressed on the rating (squared error)."""
    return F.mse_loss(scale * F.cosine_similarity(users, items, dim=-1), ratings)
