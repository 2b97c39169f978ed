"""ItemCF: item-based top-N recommendation by cosine neighbourhoods (Sarwar et al., WWW 2001; Deshpande &
Karypis, ACM TOIS 2004).

sim(j, i) = |U_j ∩ U_i| / sqrt(|U_j| |U_i|) over the 0/1 user-item matrix X [U, N + 1] (sim(i, i) = 0); each
item j keeps only its num_neighbours most similar items (the rest 0), giving W [N + 1, N + 1], and
score(u, i) = sum over the user's items j of W[j, i]. Fitted in closed form: one sparse X^T X product.
"""

from __future__ import annotations

import torch

from recstack.data.interactions import InteractionData
from recstack.models.base import register
from recstack.models.recall.base import RecallParams
from recstack.models.recall.fitted import ItemToItemModel, item_gram, keep_top_k


class ItemCFParams(RecallParams):
    num_neighbours: int = 20  # k, Deshpande & Karypis's default neighbourhood size


def cosine_from_gram(gram: torch.Tensor) -> torch.Tensor:
    """Co-occurrence counts [M, M] (the diagonal = each row's own count) -> cosine similarities, diagonal 0."""
    norms = gram.diagonal().clamp(min=1e-12).sqrt()
    similarity = gram / norms.unsqueeze(1) / norms.unsqueeze(0)
    return similarity.fill_diagonal_(0.0)


@register("itemcf", ItemCFParams)
class ItemCF(ItemToItemModel):
    def fit(self, data: InteractionData) -> None:
        similarity = cosine_from_gram(item_gram(data))
        self.item_weights.copy_(keep_top_k(similarity, self.params.num_neighbours))
        return None
