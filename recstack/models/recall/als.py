"""Implicit ALS: collaborative filtering for implicit feedback datasets (Hu, Koren & Volinsky, ICDM 2008).

Preference p_ui = 1 if u has i, else 0, with confidence c_ui = 1 + alpha r_ui (r = 1 here). Minimises
    sum over all (u, i) of c_ui (p_ui - x_u . y_i)² + lambda (sum ||x_u||² + sum ||y_i||²)
by alternating exact-in-the-limit least squares: with Y fixed, each user solves
    (Y^T Y + alpha Y_u^T Y_u + lambda I) x_u = (1 + alpha) Y_u^T 1,
done for all users at once by cg_steps of conjugate gradient warm-started from the last x_u (Takács et al.,
RecSys 2011), which costs O(nnz d) per step and never forms a d x d matrix per user; then items likewise.
Each epoch is one sweep (users, then items). score(u, i) = x_u . y_i.
"""

from __future__ import annotations

import torch

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams


class ALSParams(RecallParams):
    sparse_feature_dim: int = 64  # factors f
    alpha: float = 40.0  # confidence slope, the paper's value
    l2: float = 10.0  # lambda
    cg_steps: int = 3
    init_std: float = 0.01


def solve_side(solved: torch.Tensor, fixed: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, alpha: float,
               l2: float, steps: int) -> torch.Tensor:
    """One ALS half-step: for every row r of solved [R, d], CG on (F^T F + alpha sum_{c in r} f_c f_c^T + l2 I) x_r
    = (1 + alpha) sum_{c in r} f_c, F = fixed [C, d]; (rows, cols) [nnz] are the observed pairs."""
    gram = fixed.T @ fixed + l2 * torch.eye(fixed.shape[1])
    observed = fixed[cols]  # [nnz, d]

    def apply(x: torch.Tensor) -> torch.Tensor:
        dots = (x[rows] * observed).sum(1, keepdim=True)
        return x @ gram + torch.zeros_like(x).index_add_(0, rows, alpha * dots * observed)

    x = solved.clone()
    residual = torch.zeros_like(x).index_add_(0, rows, (1 + alpha) * observed) - apply(x)
    direction, norm = residual.clone(), residual.pow(2).sum(1, keepdim=True)
    for _ in range(steps):
        moved = apply(direction)
        step = norm / (direction * moved).sum(1, keepdim=True).clamp(min=1e-20)
        x += step * direction
        residual -= step * moved
        new_norm = residual.pow(2).sum(1, keepdim=True)
        direction = residual + new_norm / norm.clamp(min=1e-20) * direction
        norm = new_norm
    return x


def implicit_loss(users: torch.Tensor, items: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, alpha: float,
                  l2: float) -> float:
    """The objective above; the sum over all pairs of (x . y)² is tr(X^T X Y^T Y), never an U x N matrix."""
    everything = ((users.T @ users) * (items.T @ items)).sum()
    scores = (users[rows] * items[cols]).sum(1)
    observed = ((1 + alpha) * (1 - scores).pow(2) - scores.pow(2)).sum()
    return float(everything + observed + l2 * (users.pow(2).sum() + items.pow(2).sum()))


@register("als", ALSParams)
class ALS(RecallModel):
    def __init__(self, schema: InteractionSchema, params: ALSParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.register_buffer("user_factors", torch.randn(schema.num_users, dim) * params.init_std)
        self.register_buffer("item_factors", torch.randn(schema.num_items + 1, dim) * params.init_std)
        self.item_factors[0] = 0.0

    def fit(self, data: InteractionData) -> float:
        """One sweep; returns the objective after it."""
        p = self.params
        users, items = torch.from_numpy(data.train.row_users()), torch.from_numpy(data.train.items)
        self.user_factors.copy_(solve_side(self.user_factors, self.item_factors, users, items, p.alpha, p.l2,
                                           p.cg_steps))
        self.item_factors.copy_(solve_side(self.item_factors, self.user_factors, items, users, p.alpha, p.l2,
                                           p.cg_steps))
        return implicit_loss(self.user_factors, self.item_factors, users, items, p.alpha, p.l2)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.user_factors[batch.sparse[:, 0]]

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.item_factors[item_ids]
