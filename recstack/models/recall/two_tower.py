"""Two-tower retrieval (DSSM-style towers, Huang et al., CIKM 2013; trained as in Yi et al., RecSys 2019).

user tower: [user id vector (; mean of the last history_length item vectors)] -> MLP(fc_sizes) -> d
item tower: item id vector -> MLP(fc_sizes) -> d
Both outputs are L2-normalised, so score = cos(u, i) / temperature. Default loss: in-batch softmax with the
log-q popularity correction. `loss: cosine_rating` is PaddleRec's movie-recommendation recall instead:
5 * cos(u, i) regressed on the rating (needs rated data, e.g. runner.data_format movielens_sequence).
A training pair's history is the user's latest items without the target, as evaluation sees it (`train_history`,
see recstack/models/recall/youtube_dnn.py).
"""

from __future__ import annotations

from typing import Iterator, Literal

import numpy as np
import torch
import torch.nn.functional as F

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.layers import MLP, pool_bag
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.blocks import IdEmbedding
from recstack.models.recall.youtube_dnn import pair_batches_with_latest_history


class TwoTowerParams(RecallParams):
    loss: Literal["in_batch_softmax", "sampled_softmax", "bpr", "bce", "cosine_rating"] = "in_batch_softmax"
    fc_sizes: list[int] = [128]
    temperature: float = 0.1
    train_history: Literal["latest", "preceding"] = "latest"


@register("two_tower", TwoTowerParams)
class TwoTower(RecallModel):
    supported_losses = ("in_batch_softmax", "sampled_softmax", "bpr", "bce", "cosine_rating")

    def __init__(self, schema: InteractionSchema, params: TwoTowerParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.users = IdEmbedding(schema.num_users, dim, self.embedding_l2, std=dim ** -0.5)
        self.items = IdEmbedding(schema.num_items + 1, dim, self.embedding_l2, std=dim ** -0.5, padding_idx=0)
        user_input = dim * (2 if params.history_length else 1)
        self.user_tower = MLP(user_input, params.fc_sizes, output_dim=dim, dropout=params.dropout)
        self.item_tower = MLP(dim, params.fc_sizes, output_dim=dim, dropout=params.dropout)

    def training_batches(self, data: InteractionData, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
        return pair_batches_with_latest_history(self, data, batch_size, rng)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        features = self.users(batch.sparse[:, 0])
        if self.params.history_length:
            features = torch.cat([features, pool_bag(self.items, batch.sequences["history"], "mean")], dim=-1)
        return F.normalize(self.user_tower(features), dim=-1)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.item_tower(self.items(item_ids)), dim=-1)

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return super().score(users, items) / self.params.temperature
