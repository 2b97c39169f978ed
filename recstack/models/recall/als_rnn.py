"""ALS + RNN, the two-stage textbook predictor: item vectors from implicit ALS (Hu, Koren & Volinsky, ICDM 2008)
as the item table of an RNN next-item predictor (`rnn_predictor`).

observe(data) runs als_sweeps sweeps of implicit ALS on the training interactions and copies the item factors
[N + 1, d] into the item table; with freeze_items the table stays fixed and the RNN (and its output projection)
learns to move through the ALS space, otherwise the ALS vectors are only the initialisation. Scoring is the dot
product of the RNN's last state with the item table, as in `rnn_predictor`.
"""

from __future__ import annotations

import torch

from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.models.base import register
from recstack.models.recall.als import ALS, ALSParams
from recstack.models.recall.rnn_predictor import RNNPredictor, RNNPredictorParams


class ALSRNNParams(RNNPredictorParams):
    freeze_items: bool = True
    als_sweeps: int = 10
    als_alpha: float = 40.0
    als_l2: float = 10.0


@register("als_rnn", ALSRNNParams)
class ALSRNN(RNNPredictor):
    def __init__(self, schema: InteractionSchema, params: ALSRNNParams):
        super().__init__(schema, params)
        self.items.weight.requires_grad_(not params.freeze_items)

    def observe(self, data: InteractionData) -> None:
        """Fits ALS (seeded from torch's generator) and loads its item vectors into the table."""
        super().observe(data)
        p = self.params
        als = ALS(data.schema, ALSParams(sparse_feature_dim=p.sparse_feature_dim, alpha=p.als_alpha, l2=p.als_l2))
        for _ in range(p.als_sweeps):
            als.fit(data)
        with torch.no_grad():
            self.items.weight.copy_(als.item_factors)
