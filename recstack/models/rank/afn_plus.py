"""AFN and AFN+ (Cheng, Shan and Zhang, "Adaptive Factorization Network: Learning Adaptive-Order Feature
Interactions", AAAI 2020).

AFN: logarithmic neurons turn the field vectors into cross features of learned order,
y_j = exp(sum_i w_ji ln|e_i|) (see recstack.layers.logarithmic), flattened into an MLP -> logit.
AFN+ (`afn_plus`) ensembles AFN with a DNN over its own field embeddings (the two parts learn separate
embeddings in the reference implementation); a linear layer weighs the two logits.
Dense features are embedded as value-scaled fields in both parts (the logarithm needs vectors).
Shapes: sparse [B, F], dense [B, D] -> fields [B, N = F + D, dim] -> log neurons [B, L, dim] -> flat
[B, L dim] -> MLP -> logit [B]; AFN+ also fields -> flat [B, N dim] -> DNN -> logit, then Linear(2, 1).
"""

from __future__ import annotations

import torch
from torch import nn

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.layers.logarithmic import LogarithmicTransform
from recstack.layers.mlp import MLP
from recstack.models.base import SingleTaskModel, register


class AFNParams(HyperParameters):
    logarithmic_neurons: int = 1500  # the paper's setting for Criteo
    afn_fc_sizes: list[int] | None = None  # the MLP over the log neurons; None: fc_sizes (BARS: [400])


@register("afn", AFNParams)
class AFN(SingleTaskModel):
    def __init__(self, schema, params: AFNParams):
        super().__init__(schema, params)
        self.field_embeddings = self.field_embedding(embed_dense=True)
        num_fields, dim = self.field_embeddings.num_fields, self.field_embeddings.dim
        self.logarithmic = LogarithmicTransform(num_fields, params.logarithmic_neurons)
        self.afn_mlp = MLP(params.logarithmic_neurons * dim, params.afn_fc_sizes or params.fc_sizes, output_dim=1,
                           dropout=params.dropout, batch_norm=params.batch_norm)

    def afn_logit(self, batch: Batch) -> torch.Tensor:
        crosses = self.logarithmic(self.field_embeddings(batch))
        return self.afn_mlp(crosses.flatten(start_dim=1)).squeeze(-1)

    def logit(self, batch: Batch) -> torch.Tensor:
        return self.afn_logit(batch)


@register("afn_plus", AFNParams)
class AFNPlus(AFN):
    def __init__(self, schema, params: AFNParams):
        super().__init__(schema, params)
        self.dnn_embeddings = self.field_embedding(embed_dense=True)
        self.dnn = self.build_mlp(self.dnn_embeddings.num_fields * self.dnn_embeddings.dim)
        self.ensemble = nn.Linear(2, 1)

    def logit(self, batch: Batch) -> torch.Tensor:
        dnn_logit = self.dnn(self.dnn_embeddings(batch).flatten(start_dim=1)).squeeze(-1)
        return self.ensemble(torch.stack([self.afn_logit(batch), dnn_logit], dim=1)).squeeze(-1)
