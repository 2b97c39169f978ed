"""EASE: Embarrassingly Shallow Autoencoders for sparse data (Steck, WWW 2019).

An item-item regression X ≈ X B with diag(B) = 0, X the 0/1 user-item matrix [U, N + 1]. Minimising
||X - X B||² + lambda ||B||² under that constraint has the closed form
    P = (X^T X + lambda I)^-1,   B[j, i] = -P[j, i] / P[i, i] (i != j),   B[i, i] = 0,
and score(u, i) = (x_u B)[i]. One N x N inverse (float64 Cholesky): seconds for ML-1M's 3,043 items.
"""

from __future__ import annotations

import torch

from recstack.data.interactions import InteractionData
from recstack.models.base import register
from recstack.models.recall.base import RecallParams
from recstack.models.recall.fitted import ItemToItemModel, item_gram


SPARSE_GRAM = 0.1  # G @ B as a sparse product below this share of non-zero co-occurrences


class EASEParams(RecallParams):
    l2: float = 500.0  # lambda, the paper's value for ML-20M and Netflix


@register("ease", EASEParams)
class EASE(ItemToItemModel):
    def fit(self, data: InteractionData) -> float:
        """Fits B; returns the training objective ||X - X B||² + lambda ||B||² (from the Gram matrix alone)."""
        gram = item_gram(data).double()
        regularised = gram + self.params.l2 * torch.eye(gram.shape[0], dtype=torch.float64)
        inverse = torch.cholesky_inverse(torch.linalg.cholesky(regularised))
        weights = -inverse / inverse.diagonal().unsqueeze(0)
        weights.fill_diagonal_(0.0)
        self.item_weights.copy_(weights.float())
        # ||X - XB||² = tr(G) - 2 tr(G B) + tr(B^T G B), with G = X^T X: sparse on large catalogues (Beauty's
        # co-occurrences fill ~2% of it), where a dense G @ B costs as much as the inverse; dense when it is full
        # (ML-1M's), where a sparse product is far slower
        sparse = gram.count_nonzero() < SPARSE_GRAM * gram.numel()
        gram_weights = torch.sparse.mm(gram.to_sparse(), weights) if sparse else gram @ weights
        residual = gram.trace() - 2 * (gram * weights).sum() + (weights * gram_weights).sum()
        return float(residual + self.params.l2 * weights.pow(2).sum())
