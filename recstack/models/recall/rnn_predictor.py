"""The textbook next-item predictor: an RNN over the user's item history (Elman, 1990; LSTM: Hochreiter &
Schmidhuber, 1997), as in Hidasi et al. (ICLR 2016) without the session-parallel mini-batches.

history [B, L] (left-padded) -> item vectors [B, L, d] -> `cell` (rnn / lstm / gru, hidden_size) ->
Linear(hidden_size -> d) -> states [B, L, d]; the state after the last item is the user vector, scored by the
dot product against the item table. Trained with cross-entropy over all items at every position.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import SequentialParams, SequentialRecallModel

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNPredictorParams(SequentialParams):
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    hidden_size: int = 64


@register("rnn_predictor", RNNPredictorParams)
class RNNPredictor(SequentialRecallModel):
    def __init__(self, schema: InteractionSchema, params: RNNPredictorParams):
        super().__init__(schema, params)
        self.rnn = CELLS[params.cell](params.sparse_feature_dim, params.hidden_size, batch_first=True)
        self.project = nn.Linear(params.hidden_size, params.sparse_feature_dim)

    def encode(self, history: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(self.items(history))
        return self.project(states)
