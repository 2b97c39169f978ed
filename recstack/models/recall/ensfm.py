"""ENSFM: efficient non-sampling factorization machines (Chen et al., WWW 2020).

An FM over user fields and item fields is rewritten as a generalised MF, score(u, i) = h_aux . (p_u ⊙ q_i):
    p_u = [sum of user field vectors e_u (d); w0 + b_u + h_s . BI(user fields); 1]
    q_i = [sum of item field vectors e_i (d); 1; b_i + h_s . BI(item fields)]
    h_aux = [h (d); 1; 1]
with BI the FM's bi-interaction pooling within one side. Here each side has one field (its id), so BI = 0 and
the model is a biased MF with a learned weight per dimension. It trains on all of the data, no sampling:
    L = sum over positives of ((1 - c0) y^2 - 2 y) + c0 * sum over the batch's users and ALL items of y^2
where the last term is, by the memorisation trick, sum_{a,b} (h_aux h_aux^T)_ab (P^T P)_ab (Q^T Q)_ab
([d + 2]² work instead of B x N). Batches: users with all their training items. Defaults: the paper's code on
ML-1M (d 64, c0 0.5, Adagrad lr 0.05, N(0, 0.01²) init, h = 0.01).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import nn

from recstack.config import OptimizerConfig
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.fitted import user_rows


class ENSFMParams(RecallParams):
    negative_weight: float = 0.5  # c0, the weight of every unobserved (user, item) pair
    optimizer: OptimizerConfig = OptimizerConfig.model_validate({"class": "Adagrad", "learning_rate": 0.05,
                                                                 "sparse": False})


def small_normal(*shape: int) -> nn.Parameter:
    return nn.Parameter(torch.randn(*shape) * 0.01)


@register("ensfm", ENSFMParams)
class ENSFM(RecallModel):
    def __init__(self, schema: InteractionSchema, params: ENSFMParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.user_vectors = small_normal(schema.num_users, dim)
        self.item_vectors = small_normal(schema.num_items + 1, dim)
        self.user_bias, self.item_bias = small_normal(schema.num_users), small_normal(schema.num_items + 1)
        self.global_bias = nn.Parameter(torch.zeros(()))
        self.h = nn.Parameter(torch.full((dim,), 0.01))

    def training_batches(self, data: InteractionData, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
        return user_rows(data, batch_size, rng)

    def user_context(self, users: torch.Tensor) -> torch.Tensor:
        """p_u [B, d + 2]."""
        ones = torch.ones(len(users), 1)
        return torch.cat([self.user_vectors[users], (self.global_bias + self.user_bias[users]).unsqueeze(1), ones], 1)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        """q_i [..., d + 2]."""
        ones = torch.ones(*item_ids.shape, 1)
        return torch.cat([self.item_vectors[item_ids], ones, self.item_bias[item_ids].unsqueeze(-1)], -1)

    def weights(self) -> torch.Tensor:
        return torch.cat([self.h, torch.ones(2)])

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.user_context(batch.sparse[:, 0]) * self.weights()

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"users": self.user_context(batch.sparse[:, 0]), "items": self.item_embedding(torch.arange(
            self.num_items + 1))}

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        users, items, h = outputs["users"], outputs["items"], self.weights()  # [B, d + 2], [N + 1, d + 2]
        positives = batch.sequences["history"]  # [B, L], 0 = padding
        scores = ((users * h).unsqueeze(1) * items[positives]).sum(-1) * (positives > 0)
        c0 = self.params.negative_weight
        everything = (torch.outer(h, h) * (users.T @ users) * (items[1:].T @ items[1:])).sum()
        return c0 * everything + ((1 - c0) * scores.pow(2) - 2 * scores).sum()
