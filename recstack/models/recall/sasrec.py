"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

history [B, L] (left-padded, 0 = padding) -> item vectors * sqrt(d) + learned positions -> num_blocks causal
Transformer blocks (pre-LayerNorm, self-attention then a position-wise feed-forward of width d, dropout)
-> LayerNorm -> states [B, L, d]. The state after the last item is the user vector; score = <state, item vector>
with the input item table shared as output. Attention skips padded keys (the paper's code lets queries attend
to zeroed padding), so a history's states do not depend on how much padding its batch has.
Default loss: cross-entropy over all items at every position (the "CE" SASRec that matches later models).
"""

from __future__ import annotations

import torch
from torch import nn

from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import SequentialParams, SequentialRecallModel
from recstack.models.recall.blocks import TransformerBlock, sequence_attention_mask


class SASRecParams(SequentialParams):
    num_blocks: int = 2
    num_heads: int = 1
    dropout: float = 0.2


@register("sasrec", SASRecParams)
class SASRec(SequentialRecallModel):
    def __init__(self, schema: InteractionSchema, params: SASRecParams):
        super().__init__(schema, params)
        dim, length = params.sparse_feature_dim, params.history_length
        self.positions = nn.Embedding(length, dim)
        self.dropout = nn.Dropout(params.dropout)
        self.blocks = nn.ModuleList(TransformerBlock(dim, params.num_heads, params.dropout)
                                    for _ in range(params.num_blocks))
        self.norm = nn.LayerNorm(dim)

    def encode(self, history: torch.Tensor) -> torch.Tensor:
        length = history.shape[1]
        keep = (history > 0).unsqueeze(-1).float()
        attend = sequence_attention_mask(history)
        states = self.items(history) * self.params.sparse_feature_dim ** 0.5 + self.positions.weight[-length:]
        states = self.dropout(states) * keep
        for block in self.blocks:
            states = block(states, attend) * keep
        return self.norm(states)
