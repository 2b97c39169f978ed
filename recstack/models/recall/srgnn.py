"""SR-GNN: session-based recommendation with graph neural networks (Wu et al., AAAI 2019).

history [B, L] (the session's items before the target, left-padded) -> session graph: one node per distinct
item, an edge for each consecutive pair, A_out row-normalised by out-degree and A_in (= A^T) by in-degree ->
num_steps gated GNN steps over node vectors v [B, n, d]:
    a = [A_in (W_in v) + b_in ; A_out (W_out v) + b_out],   v = GRUCell(a, v)
-> readout over the session's positions: local s_l = v_last, global s_g = sum_i α_i v_i with
α_i = q . sigmoid(W_1 v_last + W_2 v_i + c), hybrid s_h = W_3 [s_l; s_g] -> user (session) vector [B, d],
scored by a dot product with the item table (shared with the input). Trained on every (prefix, next item) of the
train sessions — the pair batches with history_length items of history — with cross-entropy over all items.
Defaults as the paper: d = 100, 1 step, Adam lr 0.001, L2 1e-5, batch 100.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.config import OptimizerConfig
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall import losses
from recstack.models.recall.base import RecallModel, RecallParams


class SRGNNParams(RecallParams):
    loss: Literal["softmax", "sampled_softmax", "bpr", "bce"] = "softmax"
    sparse_feature_dim: int = 100
    history_length: int = 20  # the session's last 20 items (DIGINETICA sessions average ~5)
    num_steps: int = 1
    optimizer: OptimizerConfig = OptimizerConfig(learning_rate=0.001, weight_decay=1e-5, sparse=False)


def session_graph(history: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """history [B, L] -> (nodes [B, L] distinct items, ascending, 0-padded; alias [B, L] node of each position;
    a_in, a_out [B, L, L] normalised adjacency). Node slots beyond a session's distinct items hold 0."""
    batch, length = history.shape
    ordered, order = history.sort(dim=1)
    new = torch.ones_like(ordered, dtype=torch.bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    slot = new.cumsum(1) - 1  # node slot of each sorted position; padding (0) sorts first, into slot 0
    alias = torch.empty_like(slot).scatter_(1, order, slot)
    nodes = torch.zeros_like(history).scatter_(1, slot, ordered)
    edge = (history[:, :-1] > 0) & (history[:, 1:] > 0)
    rows = torch.arange(batch).unsqueeze(1).expand(-1, length - 1)
    adjacency = torch.zeros(batch, length, length)
    adjacency[rows[edge], alias[:, :-1][edge], alias[:, 1:][edge]] = 1.0
    a_out = adjacency / adjacency.sum(2, keepdim=True).clamp(min=1)
    a_in = adjacency.transpose(1, 2) / adjacency.sum(1).unsqueeze(2).clamp(min=1)
    return nodes, alias, a_in, a_out


@register("srgnn", SRGNNParams)
class SRGNN(RecallModel):
    supported_losses = ("softmax", "sampled_softmax", "bpr", "bce")

    def __init__(self, schema: InteractionSchema, params: SRGNNParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.items = nn.Embedding(schema.num_items + 1, dim, padding_idx=0)
        self.edge_in, self.edge_out = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.bias_in, self.bias_out = nn.Parameter(torch.zeros(dim)), nn.Parameter(torch.zeros(dim))
        self.cell = nn.GRUCell(2 * dim, dim)
        self.readout_last, self.readout_item = nn.Linear(dim, dim), nn.Linear(dim, dim, bias=False)
        self.readout_weight = nn.Linear(dim, 1, bias=False)
        self.hybrid = nn.Linear(2 * dim, dim)
        with torch.no_grad():  # as the paper's code: every weight U(-1/sqrt(d), 1/sqrt(d)), padding row zero
            for weight in self.parameters():
                weight.uniform_(-dim ** -0.5, dim ** -0.5)
            self.items.weight[0].zero_()

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        history = batch.sequences["history"]
        nodes, alias, a_in, a_out = session_graph(history)
        vectors = self.items(nodes)  # [B, n, d]
        for _ in range(self.params.num_steps):
            incoming = a_in @ self.edge_in(vectors) + self.bias_in
            outgoing = a_out @ self.edge_out(vectors) + self.bias_out
            message = torch.cat([incoming, outgoing], dim=-1)
            vectors = self.cell(message.flatten(0, 1), vectors.flatten(0, 1)).view_as(vectors)
        states = vectors.gather(1, alias.unsqueeze(-1).expand(-1, -1, vectors.shape[-1]))  # [B, L, d]
        states = states * (history > 0).unsqueeze(-1)
        last = states[:, -1]
        alpha = self.readout_weight(torch.sigmoid(self.readout_last(last).unsqueeze(1) + self.readout_item(states)))
        session = (alpha * states * (history > 0).unsqueeze(-1)).sum(1)
        return self.hybrid(torch.cat([last, session], dim=-1))

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        if self.params.loss == "softmax":
            return {"user": self.user_embedding(batch)}
        return super().forward(batch)

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        if self.params.loss == "softmax":
            return losses.full_softmax(outputs["user"], self.items.weight, batch.sparse[:, 1])
        return super().loss(outputs, batch)
