"""UserCF: user-based collaborative filtering by cosine neighbourhoods (Resnick et al., CSCW 1994; Herlocker
et al., SIGIR 1999), for implicit 0/1 data.

sim(u, v) = |I_u ∩ I_v| / sqrt(|I_u| |I_v|) between the user's items (their history at evaluation) and every
training user v != u; the num_neighbours most similar users N_k(u) vote: score(u, i) = sum over v in N_k(u) of
sim(u, v) X[v, i]. As embeddings: the user is their k-sparse similarity row [U], item i is the column X[:, i],
so score = dot product. Memory-based: nothing to fit, the training matrix (observe) is the model.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.fitted import interaction_matrix, keep_top_k, multi_hot, sparse_rows_score


class UserCFParams(RecallParams):
    num_neighbours: int = 50  # Herlocker et al. found 20-60 neighbours best


@register("usercf", UserCFParams)
class UserCF(RecallModel):
    reads_full_history: ClassVar[bool] = True

    def __init__(self, schema: InteractionSchema, params: UserCFParams):
        super().__init__(schema, params)
        self.train_matrix: torch.Tensor | None = None  # sparse [U, N + 1], from observe
        self.register_buffer("item_users", torch.zeros(schema.num_items + 1, schema.num_users), persistent=False)
        self.register_buffer("user_norms", torch.zeros(schema.num_users), persistent=False)

    def observe(self, data: InteractionData) -> None:
        super().observe(data)
        self.train_matrix = interaction_matrix(data.train, data.num_items)
        self.item_users.copy_(self.train_matrix.to_dense().T)
        self.user_norms.copy_(self.item_users.sum(0).sqrt())

    def fit(self, data: InteractionData) -> None:
        return None

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        if self.train_matrix is None:
            raise RuntimeError("UserCF needs the training matrix: call observe(data) first")
        history = multi_hot(batch.sequences["history"], self.num_items)  # [B, N + 1]
        overlap = torch.sparse.mm(self.train_matrix, history.T).T  # [B, U]
        norms = history.sum(1, keepdim=True).sqrt() * self.user_norms.unsqueeze(0)
        similarity = overlap / norms.clamp(min=1e-12)
        similarity[torch.arange(len(similarity)), batch.sparse[:, 0]] = 0.0  # a user is not their own neighbour
        return keep_top_k(similarity, self.params.num_neighbours)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.item_users[item_ids]

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return sparse_rows_score(users, items) if items.dim() == 2 else super().score(users, items)
