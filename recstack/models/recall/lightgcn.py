"""LightGCN (He et al., SIGIR 2020): collaborative filtering by plain neighbourhood averaging on the
user-item graph.

E^(0) = [P; Q] ([U + N + 1, d] id vectors), E^(k+1) = D^-1/2 A D^-1/2 E^(k) over the bipartite graph A of the
training interactions, and the final vectors are the mean of E^(0..K). score(u, i) = <e_u, e_i>. Trained with
BPR; the L2 penalty is on the batch's layer-0 rows, as in the paper. Each training step propagates the whole
graph once; evaluation propagates once and reuses the result until the model trains again.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from recstack.config import OptimizerConfig
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.blocks import IdEmbedding


class LightGCNParams(RecallParams):
    num_layers: int = 3
    optimizer: OptimizerConfig = OptimizerConfig(learning_rate=0.001, embedding_l2=1e-4, sparse=False)


def normalized_adjacency(data: InteractionData) -> torch.Tensor:
    """D^-1/2 A D^-1/2 as a sparse CSR [U + N + 1, U + N + 1]; users first, then items 0..N."""
    users, items = data.train.row_users(), data.train.items + data.num_users
    rows, cols = np.concatenate([users, items]), np.concatenate([items, users])
    size = data.num_users + data.num_items + 1
    degree = np.bincount(rows, minlength=size).astype(np.float32)
    inv_sqrt = np.where(degree > 0, degree.clip(min=1) ** -0.5, 0.0)
    values = torch.from_numpy((inv_sqrt[rows] * inv_sqrt[cols]).astype(np.float32))
    coo = torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, cols])), values, (size, size),
                                  check_invariants=False)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the one op used here, spmm, is stable
        warnings.simplefilter("ignore", UserWarning)
        return coo.coalesce().to_sparse_csr()


class SymmetricSparseMatmul(torch.autograd.Function):
    """graph @ dense for a symmetric sparse graph; the gradient is graph @ grad again (15x faster here than
    autograd's generic sparse backward, which transposes the matrix every step)."""

    @staticmethod
    def forward(ctx, graph: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        ctx.graph = graph
        return torch.sparse.mm(graph, dense)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, torch.sparse.mm(ctx.graph, grad)


@register("lightgcn", LightGCNParams)
class LightGCN(RecallModel):
    supported_losses = ("bpr", "bce", "sampled_softmax")

    def __init__(self, schema: InteractionSchema, params: LightGCNParams):
        super().__init__(schema, params)
        dim, l2 = params.sparse_feature_dim, self.embedding_l2
        self.users = IdEmbedding(schema.num_users, dim, l2, std=0.1)
        self.items = IdEmbedding(schema.num_items + 1, dim, l2, std=0.1)
        self.graph: torch.Tensor | None = None
        self.propagated: tuple[torch.Tensor, torch.Tensor] | None = None

    def observe(self, data: InteractionData) -> None:
        super().observe(data)
        self.graph = normalized_adjacency(data)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (users [U, d], items [N + 1, d]): the mean over layers 0..K."""
        if self.graph is None:
            raise RuntimeError("LightGCN needs the training graph: call observe(data) first")
        layer = torch.cat([self.users.weight, self.items.weight])
        total = layer
        for _ in range(self.params.num_layers):
            layer = SymmetricSparseMatmul.apply(self.graph, layer)
            total = total + layer
        mean = total / (self.params.num_layers + 1)
        return mean[:self.num_users], mean[self.num_users:]

    def train(self, mode: bool = True) -> "LightGCN":
        self.propagated = None  # the weights are about to change (or just did)
        return super().train(mode)

    def _vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.propagated is None:
            self.propagated = self.propagate()
        return self.propagated

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        self.propagated = self.propagate()  # once per step, shared by the user, positive and negative lookups
        try:
            return super().forward(batch)
        finally:
            self.propagated = None

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        ids = batch.sparse[:, 0]
        self.users(ids)  # records the L2 penalty on the layer-0 rows (training only)
        return self._vectors()[0][ids]

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        self.items(item_ids)
        return self._vectors()[1][item_ids]
