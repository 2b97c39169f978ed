"""FAT-DeepFFM (Zhang, Huang and Zhang, "FAT-DeepFFM: Field Attentive Deep Field-aware Factorization Machine",
arXiv 2019).

Field-aware embeddings (a vector per feature and other field) are re-weighted by CENet field attention before
the interaction; the field-aware pairs v_{i,j} * v_{j,i} (Hadamard, the paper's better variant, or their inner
product) feed an MLP whose logit adds to a first-order term. Dense features are fields (value-scaled vectors),
as in PaddleRec's reproduction.
Each MLP input multiplies four factors that scale with the embeddings (two vectors, two CENet weights from a
bias-free ReLU excitation): at the library's usual init std 1e-2 they are ~1e-11, below batch norm's epsilon
and Adam's, and the deep part never trains (Frappe_x1 0.9332, below LR). So this model's defaults start the
field-aware table at std 0.3 and leave batch norm out (Frappe_x1 0.9788 ± 0.0015, docs/benchmarks/rank.md).
Shapes: sparse [B, F], dense [B, D] -> field-aware [B, F + D, F + D, dim] -> pairs [B, P, dim] (P = F'(F'-1)/2,
F' = F + D) -> flat [B, P dim] (or [B, P] for inner) -> logit [B].
"""

from __future__ import annotations

from typing import Literal

import torch

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.layers.attention import CENet
from recstack.layers.field_aware import FieldAwareEmbedding
from recstack.models.base import SingleTaskModel, register


class FATDeepFFMParams(HyperParameters):
    embedding_init_std: float = 0.3  # see the module docstring: four embedding-scale factors per MLP input
    batch_norm: bool = False
    reduction_ratio: float = 1.0  # CENet's excitation narrowing (PaddleRec's reproduction uses 1)
    interaction: Literal["hadamard", "inner"] = "hadamard"


@register("fat_deepffm", FATDeepFFMParams)
class FATDeepFFM(SingleTaskModel):
    def __init__(self, schema, params: FATDeepFFMParams):
        super().__init__(schema, params)
        self.linear = self.first_order()
        dim = params.sparse_feature_dim
        self.field_aware = FieldAwareEmbedding(schema, dim, embed_dense=True, sparse_grad=self.sparse_grad,
                                               l2=self.embedding_l2, init_std=params.embedding_init_std)
        num_fields = self.field_aware.num_fields
        self.cenet = CENet(num_fields, dim, params.reduction_ratio)
        left, right = torch.triu_indices(num_fields, num_fields, offset=1)
        # positions of v_{i,j} and v_{j,i} among the F*F field-aware vectors of a sample
        self.register_buffer("own_vectors", left * num_fields + right, persistent=False)
        self.register_buffer("partner_vectors", right * num_fields + left, persistent=False)
        self.hadamard = params.interaction == "hadamard"
        self.mlp = self.build_mlp(len(left) * (dim if self.hadamard else 1))

    def logit(self, batch: Batch) -> torch.Tensor:
        vectors = self.cenet(self.field_aware(batch)).flatten(start_dim=1, end_dim=2)  # [B, F*F, dim]
        pairs = vectors.index_select(1, self.own_vectors) * vectors.index_select(1, self.partner_vectors)
        interactions = pairs.flatten(start_dim=1) if self.hadamard else pairs.sum(dim=-1)
        return self.linear(batch) + self.mlp(interactions).squeeze(-1)
