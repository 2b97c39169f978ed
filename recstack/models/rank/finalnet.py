"""FinalNet (Zhu et al., "FINAL: Factorized Interaction Layer for CTR Prediction", SIGIR 2023).

A FinalBlock is an MLP whose linear layers are factorized interaction layers ([h1, h2] = W x, output
[h2, h1 * h2]). Block 1 reads the field vectors and their field-gated copy; with num_blocks 2, block 2 reads the
plain field vectors, the logit is the mean of the two blocks' logits, and in training each block also learns
from the ensemble's detached prediction (the paper's self-distillation; recorded as `penalty`, which
Model.loss adds). Hidden widths are `fc_sizes` for block 1 and `block2_fc_sizes` (default: the same) for
block 2, as FuxiCTR's block1_hidden_units / block2_hidden_units. Dense features are fields (value-scaled vectors),
as in the reference implementation (FuxiCTR).
Shapes: sparse [B, F], dense [B, D] -> fields [B, F + D, dim] -> block 1 on [B, 2(F + D) dim],
block 2 on [B, (F + D) dim] -> logit [B].
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.layers.bilinear import final_block
from recstack.layers.gates import FieldGate
from recstack.layers.mlp import MLP
from recstack.models.base import SingleTaskModel, register


class FinalNetParams(HyperParameters):
    num_blocks: Literal[1, 2] = 2
    field_gate: bool = True
    residual: Literal["concat", "sum"] = "concat"
    block2_fc_sizes: list[int] | None = None  # block 2's hidden widths; None: the same as fc_sizes


@register("finalnet", FinalNetParams)
class FinalNet(SingleTaskModel):
    def __init__(self, schema, params: FinalNetParams):
        super().__init__(schema, params)
        self.field_embeddings = self.field_embedding(embed_dense=True)
        flat_dim = self.field_embeddings.num_fields * params.sparse_feature_dim
        self.field_gate = FieldGate(self.field_embeddings.num_fields) if params.field_gate else nn.Identity()
        self.block1, self.output1 = self.make_block(2 * flat_dim if params.field_gate else flat_dim, params.fc_sizes)
        self.block2, self.output2 = (self.make_block(flat_dim, params.block2_fc_sizes or params.fc_sizes)
                                     if params.num_blocks == 2 else (None, None))
        self.penalty: torch.Tensor | None = None

    def make_block(self, input_dim: int, hidden: list[int]) -> tuple[nn.Sequential, nn.Linear]:
        """A FinalBlock with these hidden widths and the config's batch_norm and dropout, and its output unit."""
        mlp = MLP(input_dim, hidden, output_dim=None, dropout=self.params.dropout, batch_norm=self.params.batch_norm)
        return final_block(mlp, self.params.residual), nn.Linear(mlp.output_dim, 1)

    def logit(self, batch: Batch) -> torch.Tensor:
        fields = self.field_embeddings(batch)
        logit1 = self.output1(self.block1(self.field_gate(fields).flatten(start_dim=1))).squeeze(-1)
        if self.block2 is None:
            return logit1
        logit2 = self.output2(self.block2(fields.flatten(start_dim=1))).squeeze(-1)
        ensemble = (logit1 + logit2) / 2
        if self.training:
            teacher = torch.sigmoid(ensemble).detach()
            self.penalty = (F.binary_cross_entropy_with_logits(logit1, teacher)
                            + F.binary_cross_entropy_with_logits(logit2, teacher))
        return ensemble
