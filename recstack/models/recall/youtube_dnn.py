"""YouTube-DNN candidate generation (Covington et al., RecSys 2016).

user vector u = MLP(mean of the watched items' input vectors) [B, d], from the user's last
history_length items; item vectors are a separate output table [N + 1, d] (the softmax weights). Trained as
extreme multiclass classification with sampled softmax over num_negatives uniform items; served as a
nearest-neighbour search of u among the item vectors.

Training history (`train_history`): evaluation reads a user's latest history_length training items, so by
default (`latest`) a training pair reads the same, minus the target item (the paper's "held-out" label, §3.4).
`preceding` reads the items listed before the target instead, which only makes sense when the lists are in time
order: in files whose order is not time (the LCFN/UltraGCN ML-1M split lists neighbouring item ids together)
the model learns the file order, not the user, and falls below item popularity.
"""

from __future__ import annotations

from typing import Iterator, Literal

import numpy as np
import torch
from torch import nn

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema, UserItems, pair_batches
from recstack.layers import MLP, pool_bag
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.blocks import IdEmbedding


class YoutubeDNNParams(RecallParams):
    loss: Literal["sampled_softmax", "in_batch_softmax", "bpr", "bce"] = "sampled_softmax"
    num_negatives: int = 100
    history_length: int = 50
    fc_sizes: list[int] = [256, 128]
    train_history: Literal["latest", "preceding"] = "latest"


def latest_without_target(train: UserItems, users: torch.Tensor, targets: torch.Tensor, length: int) -> torch.Tensor:
    """[B, length] each user's latest `length` training items other than their target [B] (the user's history
    at evaluation time, with the item to predict held out), left-padded with 0, most recent last."""
    latest = torch.from_numpy(train.last(users.numpy(), length + 1))
    latest = latest.masked_fill(latest == targets.unsqueeze(1), 0)
    padding_first = torch.argsort((latest != 0).int(), dim=1, stable=True)
    return latest.gather(1, padding_first)[:, 1:]


def pair_batches_with_latest_history(model: RecallModel, data: InteractionData, batch_size: int,
                                     rng: np.random.Generator) -> Iterator[Batch]:
    """The recipe's pair batches, with `history` from `latest_without_target` when params.train_history is
    'latest' (a model's `training_batches`)."""
    params = model.params
    for batch in pair_batches(data, batch_size, rng, params.num_negatives, params.history_length,
                              exclude_positives=params.loss in ("bpr", "bce")):
        if params.history_length and params.train_history == "latest":
            batch.sequences["history"] = latest_without_target(data.train, batch.sparse[:, 0], batch.sparse[:, 1],
                                                               params.history_length)
        yield batch


@register("youtube_dnn", YoutubeDNNParams)
class YoutubeDNN(RecallModel):
    supported_losses = ("sampled_softmax", "in_batch_softmax", "bpr", "bce")

    def __init__(self, schema: InteractionSchema, params: YoutubeDNNParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.watched = nn.Embedding(schema.num_items + 1, dim, padding_idx=0)
        self.items = IdEmbedding(schema.num_items + 1, dim, self.embedding_l2, std=dim ** -0.5, padding_idx=0)
        self.tower = MLP(dim, params.fc_sizes, output_dim=dim, dropout=params.dropout)

    def training_batches(self, data: InteractionData, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
        return pair_batches_with_latest_history(self, data, batch_size, rng)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.tower(pool_bag(self.watched, batch.sequences["history"], "mean"))

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)
