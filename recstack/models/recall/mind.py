"""MIND: multi-interest network with dynamic routing (Li et al., CIKM 2019).

history [B, L] (a training pair's history as in `youtube_dnn`: by default the user's latest items without the
target, what evaluation reads; `train_history: preceding` for the items before it) -> item vectors e_i -> B2I dynamic routing: shared bilinear map
û_i = S e_i, routing logits b [K, L] from a fixed N(0, 1) draw, for routing_iterations rounds
    w = softmax over interests of b,   c_k = squash(sum_i w_ki û_i),   b_ki += c_k . û_i
-> a two-layer ReLU network per capsule -> interests [B, K, d]. A user with n history items keeps
K_u = max(1, min(K, ⌈log2 n⌉)) of them (the paper's dynamic interest number); the rest copy the first.
Training reads them with label-aware attention against the target item t:
    user = sum_k softmax_k((c_k . t)^attention_pow) c_k,    then sampled softmax over num_negatives items;
serving scores an item by its best interest, max_k c_k . i, so `user_embedding` returns the K interests
flattened [B, K * d] and `score` takes the max (a [B, d] user vector, K = 1 or after attention, is a dot product).
Defaults: K = 4, 3 routing iterations, attention_pow 2, history 50, sampled softmax.
"""

from __future__ import annotations

from typing import Iterator, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.blocks import IdEmbedding
from recstack.models.recall.youtube_dnn import pair_batches_with_latest_history


class MINDParams(RecallParams):
    loss: Literal["sampled_softmax", "bpr", "bce"] = "sampled_softmax"
    num_negatives: int = 100
    history_length: int = 50
    num_interests: int = 4
    routing_iterations: int = 3
    attention_pow: float = 2.0
    dynamic_interests: bool = True
    train_history: Literal["latest", "preceding"] = "latest"


def squash(vectors: torch.Tensor) -> torch.Tensor:
    """Capsule squashing (Sabour et al. 2017): |v|² / (1 + |v|²) · v / |v|, along the last axis."""
    squared = vectors.pow(2).sum(-1, keepdim=True)
    return squared / (1 + squared) * vectors / (squared + 1e-9).sqrt()


@register("mind", MINDParams)
class MIND(RecallModel):
    supported_losses = ("sampled_softmax", "bpr", "bce")

    def __init__(self, schema: InteractionSchema, params: MINDParams):
        super().__init__(schema, params)
        dim, interests = params.sparse_feature_dim, params.num_interests
        self.items = IdEmbedding(schema.num_items + 1, dim, self.embedding_l2, std=dim ** -0.5, padding_idx=0)
        self.bilinear = nn.Linear(dim, dim, bias=False)
        self.register_buffer("initial_logits", torch.randn(interests, params.history_length))
        self.interest_mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.ReLU(), nn.Linear(4 * dim, dim))

    def training_batches(self, data: InteractionData, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
        return pair_batches_with_latest_history(self, data, batch_size, rng)

    def interests(self, history: torch.Tensor) -> torch.Tensor:
        """history [B, L] -> interest capsules [B, K, d]."""
        behaviours = self.bilinear(self.items(history))  # û [B, L, d]
        real = (history > 0).unsqueeze(1)  # [B, 1, L]
        logits = self.initial_logits[:, -history.shape[1]:].expand(len(history), -1, -1)  # [B, K, L]
        for iteration in range(self.params.routing_iterations):
            weights = logits.softmax(1).masked_fill(~real, 0.0)
            capsules = squash(weights @ behaviours)  # [B, K, d]
            if iteration + 1 < self.params.routing_iterations:
                logits = logits + capsules @ behaviours.transpose(1, 2)
        capsules = self.interest_mlp(capsules)
        if self.params.dynamic_interests:
            count = torch.log2(real.sum(-1).clamp(min=1).float()).ceil().clamp(1, self.params.num_interests)
            kept = torch.arange(self.params.num_interests).unsqueeze(0) < count  # [B, K]
            capsules = torch.where(kept.unsqueeze(-1), capsules, capsules[:, :1])
        return capsules

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.interests(batch.sequences["history"]).flatten(1)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        if users.shape[-1] == self.params.sparse_feature_dim:
            return super().score(users, items)
        interests = users.view(len(users), self.params.num_interests, -1)  # [B, K, d]
        per_interest = interests @ items.T if items.dim() == 2 else interests @ items.transpose(1, 2)
        return per_interest.max(1).values

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        interests = self.interests(batch.sequences["history"])
        target = self.items(batch.sparse[:, 1])
        attention = F.softmax((interests @ target.unsqueeze(-1)).squeeze(-1).pow(self.params.attention_pow), dim=1)
        outputs = {"user": (attention.unsqueeze(-1) * interests).sum(1), "positive": target}
        if self.params.loss in ("bpr", "bce", "sampled_softmax"):
            outputs["negatives"] = self.items(batch.sequences["negatives"])
        return outputs
