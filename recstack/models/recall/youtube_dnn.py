"""YouTube-DNN candidate generation (Covington et al., RecSys 2016).

user vector u = MLP(mean of the watched items' input vectors) [B, d], from the last history_length items
before the target; item vectors are a separate output table [N + 1, d] (the softmax weights). Trained as
extreme multiclass classification with sampled softmax over num_negatives uniform items; served as a
nearest-neighbour search of u among the item vectors.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionSchema
from recstack.layers import MLP, pool_bag
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.blocks import IdEmbedding


class YoutubeDNNParams(RecallParams):
    loss: Literal["sampled_softmax", "in_batch_softmax", "bpr", "bce"] = "sampled_softmax"
    num_negatives: int = 100
    history_length: int = 50
    fc_sizes: list[int] = [256, 128]


@register("youtube_dnn", YoutubeDNNParams)
class YoutubeDNN(RecallModel):
    supported_losses = ("sampled_softmax", "in_batch_softmax", "bpr", "bce")

    def __init__(self, schema: InteractionSchema, params: YoutubeDNNParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.watched = nn.Embedding(schema.num_items + 1, dim, padding_idx=0)
        self.items = IdEmbedding(schema.num_items + 1, dim, self.embedding_l2, std=dim ** -0.5, padding_idx=0)
        self.tower = MLP(dim, params.fc_sizes, output_dim=dim, dropout=params.dropout)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.tower(pool_bag(self.watched, batch.sequences["history"], "mean"))

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)
