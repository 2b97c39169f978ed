"""MF-BPR: matrix factorisation ranked by Bayesian personalised ranking (Rendle et al., UAI 2009).

score(u, i) = <p_u, q_i>, p [U, d], q [N + 1, d]. Trained on (user, item, sampled negative) triples with
-log sigmoid(score(u, i) - score(u, j)) + embedding_l2 * the squared norms of the looked-up rows.
"""

from __future__ import annotations

import torch

from recstack.config import OptimizerConfig
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.blocks import IdEmbedding


class BPRMFParams(RecallParams):
    optimizer: OptimizerConfig = OptimizerConfig(learning_rate=0.001, embedding_l2=1e-5)


@register("bpr_mf", BPRMFParams)
class BPRMF(RecallModel):
    def __init__(self, schema: InteractionSchema, params: BPRMFParams):
        super().__init__(schema, params)
        dim, l2, sparse = params.sparse_feature_dim, self.embedding_l2, self.sparse_grad
        self.users = IdEmbedding(schema.num_users, dim, l2, sparse)
        self.items = IdEmbedding(schema.num_items + 1, dim, l2, sparse)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.users(batch.sparse[:, 0])

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)
