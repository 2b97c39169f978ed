"""NeuMF: neural matrix factorization, GMF and the NCF MLP fused under one output layer (He et al., WWW 2017).

score(u, i) = h^T [p_u ⊙ q_i ; MLP([p'_u; q'_i])] with GMF vectors p, q [., d] (d = 8 predictive factors) and
separate MLP vectors p', q' [., mlp_embedding_dim] (32) through ReLU layers fc_sizes (32 -> 16 -> 8).
user_embedding [B, d + mlp_embedding_dim] = [p_u; p'_u], item_embedding likewise [q_i; q'_i]; `score` splits them
and runs the fused head on every pair (chunked, as ncf_mlp), so serving scores candidates rather than FAISS.
Trained from scratch with the paper's log loss over 4 sampled negatives, Adam lr 0.001 (the paper's optional
GMF + MLP pretraining is not implemented).
"""

from __future__ import annotations

import torch
from torch import nn

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionSchema
from recstack.models.base import register
from recstack.models.recall.blocks import IdEmbedding
from recstack.models.recall.ncf_mlp import NCFMLP, NCFMLPParams


class NeuMFParams(NCFMLPParams):
    sparse_feature_dim: int = 8  # GMF factors
    mlp_embedding_dim: int = 32


@register("neumf", NeuMFParams)
class NeuMF(NCFMLP):
    def __init__(self, schema: InteractionSchema, params: NeuMFParams):
        super().__init__(schema, params, mlp_dim=params.mlp_embedding_dim)
        dim, l2, sparse = params.sparse_feature_dim, self.embedding_l2, self.sparse_grad
        self.gmf_users = IdEmbedding(schema.num_users, dim, l2, sparse, std=params.init_std)
        self.gmf_items = IdEmbedding(schema.num_items + 1, dim, l2, sparse, std=params.init_std, padding_idx=0)
        self.output = nn.Linear(dim + self.mlp.output_dim, 1)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        users = batch.sparse[:, 0]
        return torch.cat([self.gmf_users(users), self.users(users)], dim=-1)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.gmf_items(item_ids), self.items(item_ids)], dim=-1)

    def pair_scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf_dim = self.params.sparse_feature_dim
        gmf = users[..., :gmf_dim] * items[..., :gmf_dim]  # [b, C, d]
        mlp = self.mlp(users[..., gmf_dim:], items[..., gmf_dim:])  # [b, C, fc_sizes[-1]]
        return self.output(torch.cat([gmf.expand(*mlp.shape[:-1], -1), mlp], dim=-1)).squeeze(-1)
