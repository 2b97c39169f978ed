"""GateNet (Huang et al., "GateNet: Gating-Enhanced Deep Network for Click-Through Rate Prediction", 2020).

A DNN with gates: the feature embedding gate scales each field vector by sigmoid(W_i e_i), a private W_i per
field, bit-wise (a gate per element) or vector-wise (one per field); the hidden gate scales every hidden layer's
output a by tanh(W_g a). Either can be switched off. Dense values are concatenated to the MLP input (PaddleRec's
gate_dnn does the same).
Shapes: sparse [B, F] -> fields [B, F, dim] -> gated, flat ++ dense [B, F dim + D] -> gated MLP -> logit [B].
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.layers.gates import EmbeddingGate, with_hidden_gates
from recstack.models.base import SingleTaskModel, register


class GateNetParams(HyperParameters):
    embedding_gate: Literal["bit", "vector", "none"] = "bit"
    hidden_gate: bool = True
    hidden_gate_activation: Literal["tanh", "sigmoid"] = "tanh"  # PaddleRec's gate_dnn: tanh


@register("gatenet", GateNetParams)
class GateNet(SingleTaskModel):
    def __init__(self, schema, params: GateNetParams):
        super().__init__(schema, params)
        self.field_embeddings = self.field_embedding()
        num_fields, dim = self.field_embeddings.num_fields, params.sparse_feature_dim
        self.embedding_gate = nn.Identity() if params.embedding_gate == "none" \
            else EmbeddingGate(num_fields, dim, params.embedding_gate)
        mlp = self.build_mlp(num_fields * dim + schema.num_dense)
        self.mlp = with_hidden_gates(mlp, params.hidden_gate_activation) if params.hidden_gate else mlp

    def logit(self, batch: Batch) -> torch.Tensor:
        fields = self.embedding_gate(self.field_embeddings(batch)).flatten(start_dim=1)
        return self.mlp(torch.cat([fields, batch.dense], dim=1)).squeeze(-1)
