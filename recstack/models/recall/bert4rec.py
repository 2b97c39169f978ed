"""BERT4Rec: sequential recommendation with bidirectional Transformer encoders (Sun et al., CIKM 2019).

history [B, L] (left-padded, 0 = padding) -> item vectors + learned positions -> num_blocks Transformer blocks
attending both ways over the real items -> a GELU + LayerNorm projection -> states [B, L, d], scored against the
item table (shared with the input). Training is the cloze task: each item of a user's last L train items is
replaced by the [mask] token (id N + 1) with probability mask_prob (a sequence with none masked gets its last item
masked, the position the model serves) and the model predicts the masked items, cross-entropy over all items.
Serving appends [mask] after the last L - 1 items; its state is the user vector [B, d].
Defaults: the paper's 2 blocks, 2 heads, dropout 0.1, mask_prob 0.2 (its ML-1m value; it uses 0.6 on Beauty).
The shared block is pre-LayerNorm with ReLU (the paper: post-LayerNorm, GELU), and the output has no item bias,
so the score stays a dot product that FAISS serves.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall import losses
from recstack.models.recall.base import SequentialParams, SequentialRecallModel
from recstack.models.recall.blocks import TransformerBlock, sequence_attention_mask


class BERT4RecParams(SequentialParams):
    loss: Literal["softmax"] = "softmax"
    history_length: int = 50
    num_blocks: int = 2
    num_heads: int = 2
    dropout: float = 0.1
    mask_prob: float = 0.2


@register("bert4rec", BERT4RecParams)
class BERT4Rec(SequentialRecallModel):
    supported_losses = ("softmax",)

    def __init__(self, schema: InteractionSchema, params: BERT4RecParams):
        super().__init__(schema, params)
        dim, self.mask_token = params.sparse_feature_dim, schema.num_items + 1
        self.items = nn.Embedding(schema.num_items + 2, dim, padding_idx=0)  # one more row: [mask]
        self.positions = nn.Embedding(params.history_length, dim)
        for table in (self.items.weight[1:], self.positions.weight):  # one scale, so positions do not drown items
            nn.init.normal_(table, std=dim ** -0.5)
        self.dropout = nn.Dropout(params.dropout)
        self.blocks = nn.ModuleList(TransformerBlock(dim, params.num_heads, params.dropout, ffn_dim=4 * dim)
                                    for _ in range(params.num_blocks))
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim))

    def encode(self, history: torch.Tensor) -> torch.Tensor:
        keep = (history > 0).unsqueeze(-1).float()
        attend = sequence_attention_mask(history, causal=False)
        states = self.dropout(self.items(history) + self.positions.weight[-history.shape[1]:]) * keep
        for block in self.blocks:
            states = block(states, attend) * keep
        return self.head(states)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        history = batch.sequences["history"]
        masked = torch.cat([history[:, 1:], torch.full_like(history[:, :1], self.mask_token)], dim=1)
        return self.encode(masked)[:, -1]

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        # The last L train items: the history window shifted by one, ending with the last target.
        targets = batch.sequences["targets"]
        items = torch.cat([batch.sequences["history"][:, 1:], targets[:, -1:]], dim=1)
        masked = (torch.rand(items.shape) < self.params.mask_prob) & (items > 0)
        masked[:, -1] |= ~masked.any(1)
        return {"states": self.encode(items.masked_fill(masked, self.mask_token)), "masked": masked, "items": items}

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        states, targets = outputs["states"][outputs["masked"]], outputs["items"][outputs["masked"]]
        return losses.full_softmax(states, self.items.weight[:-1], targets) + self.penalties()
