"""GMF: generalized matrix factorization, the linear half of Neural Collaborative Filtering (He et al., WWW 2017).

score(u, i) = h^T (p_u ⊙ q_i), p [U, d], q [N + 1, d], h [d] learned (plain MF when h = 1). Folding h into the
user side, user vector = p_u ⊙ h [B, d] and item vector = q_i, keeps the score a dot product, so FAISS serves it.
Trained as the paper does: pointwise log loss (`bce`) on each observed pair and num_negatives = 4 sampled items,
Adam lr 0.001, batch 256, d = 8 predictive factors, N(0, 0.01) initialisation. The paper evaluates with HR/NDCG@10
against 99 sampled negatives (`runner.eval_protocol: sampled`, `runner.eval_negatives: 99`).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.config import OptimizerConfig
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.blocks import IdEmbedding


class GMFParams(RecallParams):
    loss: Literal["bce", "bpr", "sampled_softmax", "in_batch_softmax"] = "bce"
    sparse_feature_dim: int = 8
    num_negatives: int = 4
    optimizer: OptimizerConfig = OptimizerConfig(learning_rate=0.001, sparse=False)


@register("gmf", GMFParams)
class GMF(RecallModel):
    def __init__(self, schema: InteractionSchema, params: GMFParams):
        super().__init__(schema, params)
        dim, l2, sparse = params.sparse_feature_dim, self.embedding_l2, self.sparse_grad
        self.users = IdEmbedding(schema.num_users, dim, l2, sparse, std=0.01)
        self.items = IdEmbedding(schema.num_items + 1, dim, l2, sparse, std=0.01, padding_idx=0)
        self.output_weights = nn.Parameter(torch.ones(dim))  # h; ones start it as plain MF

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.users(batch.sparse[:, 0]) * self.output_weights

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)
