"""DLRM (Naumov et al., "Deep Learning Recommendation Model for Personalization and Recommendation
Systems", arXiv 2019).

A bottom MLP maps the dense values to one vector of the embedding width; the dot product of every
pair among it and the slot embeddings (the upper triangle of their Gram matrix, with the diagonal
when `interaction_self`), concatenated with the bottom output, feeds the top MLP (`fc_sizes`).
Defaults follow the reference Criteo Kaggle run: bottom MLP 512-256-64 then the embedding width,
ReLU after every bottom layer, no self-interaction. `interaction_op: cat` (FuxiCTR's option, the one BARS tuned
on Frappe_x1) feeds the top MLP the flat vectors instead of their dot products.
Shapes: dense [B, D] -> [B, dim]; sparse [B, F] -> [B, F, dim]; vectors [B, F + 1, dim]
-> pairs [B, (F + 1) F / 2] ++ [B, dim] (cat: [B, (F + 1) dim]) -> logit [B].
"""

from __future__ import annotations

from typing import Literal

import torch

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.layers.mlp import MLP
from recstack.layers.product import DotInteraction
from recstack.models.base import SingleTaskModel, register


class DLRMParams(HyperParameters):
    interaction_self: bool = False
    bottom_mlp_sizes: list[int] = [512, 256, 64]
    interaction_op: Literal["dot", "cat"] = "dot"


@register("dlrm", DLRMParams)
class DLRM(SingleTaskModel):
    """Bottom MLP on the dense values, pairwise dot products of all vectors, top MLP."""

    def __init__(self, schema, params):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.field_embeddings = self.field_embedding()
        # The bottom MLP ends at the embedding width so its output is one more vector in the interaction.
        self.bottom = MLP(schema.num_dense, params.bottom_mlp_sizes + [dim]) if schema.num_dense else None
        num_vectors = self.field_embeddings.num_fields + (self.bottom is not None)
        if params.interaction_op == "cat":
            self.interaction = None
            self.top = self.build_mlp(num_vectors * dim)
        else:
            self.interaction = DotInteraction(num_vectors, params.interaction_self)
            self.top = self.build_mlp(self.interaction.output_dim + (dim if self.bottom is not None else 0))

    def logit(self, batch: Batch) -> torch.Tensor:
        vectors = self.field_embeddings(batch)
        if self.bottom is not None:
            dense = self.bottom(batch.dense)
            vectors = torch.cat([dense.unsqueeze(1), vectors], dim=1)
        if self.interaction is None:
            return self.top(vectors.flatten(start_dim=1)).squeeze(-1)
        pairs = self.interaction(vectors)
        return self.top(pairs if self.bottom is None else torch.cat([dense, pairs], dim=1)).squeeze(-1)
