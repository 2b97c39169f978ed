"""GRU4Rec: session-based recommendation with recurrent networks (Hidasi et al., ICLR 2016).

history [B, L] (left-padded) -> item vectors -> dropout -> GRU (num_layers, hidden_size) -> linear to d
-> states [B, L, d]; the state after the last item is the user vector, scored against the shared item table.
Trained with cross-entropy over all items at every position (the loss Hidasi & Karatzoglou, CIKM 2018 found
best), or sampled softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import SequentialParams, SequentialRecallModel


class GRU4RecParams(SequentialParams):
    hidden_size: int = 100
    num_layers: int = 1
    dropout: float = 0.25


@register("gru4rec", GRU4RecParams)
class GRU4Rec(SequentialRecallModel):
    def __init__(self, schema: InteractionSchema, params: GRU4RecParams):
        super().__init__(schema, params)
        self.dropout = nn.Dropout(params.dropout)
        self.gru = nn.GRU(params.sparse_feature_dim, params.hidden_size, params.num_layers, batch_first=True)
        self.project = nn.Linear(params.hidden_size, params.sparse_feature_dim)

    def encode(self, history: torch.Tensor) -> torch.Tensor:
        # Left padding: the padded prefix feeds zero vectors, so the state entering the first real item is the
        # GRU's response to zeros, the same for every user with that much padding.
        states, _ = self.gru(self.dropout(self.items(history)))
        return self.project(self.dropout(states))
