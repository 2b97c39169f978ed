"""FinalMLP (Mao et al., "FinalMLP: An Enhanced Two-Stream MLP Model for CTR Prediction", AAAI 2023).

Two MLP streams read the same flat field vectors, each through its own feature selection gate
(2 sigmoid(MLP(context)) per element, the context being chosen fields or a learned vector); a multi-head bilinear
fusion of the two stream outputs gives the logit. Dense features are fields (value-scaled vectors), as in the
reference implementation (FuxiCTR).
Shapes: sparse [B, F], dense [B, D] -> fields [B, F + D, dim] -> two gated [B, (F + D) dim] -> streams -> logit [B].
"""

from __future__ import annotations

import torch

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.layers.bilinear import MultiHeadBilinearFusion
from recstack.layers.embedding import FieldEmbedding
from recstack.layers.gates import FeatureSelectionGate
from recstack.layers.mlp import MLP
from recstack.models.base import SingleTaskModel, register


class FinalMLPParams(HyperParameters):
    mlp2_fc_sizes: list[int] | None = None  # the second stream's hidden widths; None: the same as fc_sizes
    fs_hidden_units: list[int] = [64]  # hidden widths of each feature selection gate's MLP
    fs1_context: list[int] = []  # field indices the first gate reads; empty: a learned context vector
    fs2_context: list[int] = []
    num_heads: int = 1  # heads of the bilinear fusion (FuxiCTR's default); must divide both stream widths
    gate_context_tables: bool = False  # each gate embeds its context fields with its own table (FuxiCTR), a
    # full copy of the fused table: worth it for small vocabularies, costly for Criteo-sized ones


@register("finalmlp", FinalMLPParams)
class FinalMLP(SingleTaskModel):
    def __init__(self, schema, params: FinalMLPParams):
        super().__init__(schema, params)
        self.field_embeddings = self.field_embedding(embed_dense=True)
        num_fields, dim = self.field_embeddings.num_fields, params.sparse_feature_dim
        self.gate1 = FeatureSelectionGate(num_fields, dim, params.fs1_context, params.fs_hidden_units)
        self.gate2 = FeatureSelectionGate(num_fields, dim, params.fs2_context, params.fs_hidden_units)
        self.gate1_context = self.context_table(params.fs1_context)
        self.gate2_context = self.context_table(params.fs2_context)
        self.stream1 = self.build_mlp(num_fields * dim, output_dim=None)
        self.stream2 = MLP(num_fields * dim, params.mlp2_fc_sizes or params.fc_sizes, dropout=params.dropout,
                           batch_norm=params.batch_norm)
        self.fusion = MultiHeadBilinearFusion(self.stream1.output_dim, self.stream2.output_dim, params.num_heads)

    def context_table(self, context_fields: list[int]) -> FieldEmbedding | None:
        """A gate's own embedding of its context fields (dense vectors only when a dense field is context)."""
        if not (self.params.gate_context_tables and context_fields):
            return None
        return self.field_embedding(embed_dense=max(context_fields) >= len(self.schema.sparse))

    def logit(self, batch: Batch) -> torch.Tensor:
        fields = self.field_embeddings(batch)
        context1 = None if self.gate1_context is None else self.gate1_context(batch)
        context2 = None if self.gate2_context is None else self.gate2_context(batch)
        return self.fusion(self.stream1(self.gate1(fields, context1)), self.stream2(self.gate2(fields, context2)))
