"""DeepRec: training deep autoencoders for collaborative filtering (Kuchaiev & Ginsburg, 2017).

x_u [N + 1] (the user's 0/1 item row) -> encoder Linear-SELU per hidden_sizes -> dropout on the code ->
decoder, the mirror image (Linear-SELU ... then a linear layer back to N + 1) -> reconstruction y_u [N + 1].
The paper regresses observed ratings only (masked MSE); implicit data has no unobserved-vs-zero distinction to
mask by, so here the loss is the MSE over every item (a denoising-autoencoder style objective, as CDAE), with
the user's own items weighted by positive_weight (the confidence weighting of Hu, Koren and Volinsky, ICDM
2008): on sparse rows (Beauty: ~9 of 12k items a user) plain MSE is minimised by reconstructing zeros.
Dense re-feeding (the paper's augmentation): f(x) is fed back in as a new, dense example with itself as target,
f(f(x)) ≈ f(x), with the gradient of the second pass only. The re-fed example is f(x) clipped to [0, 1], the
range of a real row, since nothing else anchors the scale of an example that is the model's own output. Even
so it is nonzero on thousands of items where a real row has a handful, and on Beauty training still diverged
until the gradient norm was clipped as well (optimizer.clip_grad_norm, 0.05 here; docs/recall_classical.md).
As embeddings: the user is [last decoder hidden; 1] and item i is [its output weights; its output bias], so the
score is the reconstruction y_u[i].
Paper defaults: hidden sizes 512, 512, 1024, dropout 0.8, one re-feeding step.
"""

from __future__ import annotations

from typing import ClassVar, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from recstack.config import OptimizerConfig
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.models.base import register
from recstack.models.recall.base import RecallModel, RecallParams
from recstack.models.recall.fitted import multi_hot, user_rows


class DeepRecParams(RecallParams):
    hidden_sizes: list[int] = [512, 512, 1024]
    dropout: float = 0.8
    dense_refeeding: bool = True
    positive_weight: float = Field(1.0, gt=0)  # loss weight of a user's own items against 1 for the rest
    optimizer: OptimizerConfig = OptimizerConfig(learning_rate=0.001, sparse=False, clip_grad_norm=0.05)


def selu_stack(sizes: list[int]) -> nn.Sequential:
    return nn.Sequential(*(layer for a, b in zip(sizes, sizes[1:]) for layer in (nn.Linear(a, b), nn.SELU())))


@register("deeprec", DeepRecParams)
class DeepRec(RecallModel):
    reads_full_history: ClassVar[bool] = True

    def __init__(self, schema: InteractionSchema, params: DeepRecParams):
        super().__init__(schema, params)
        sizes = [schema.num_items + 1, *params.hidden_sizes]
        self.encoder, self.dropout = selu_stack(sizes), nn.Dropout(params.dropout)
        self.decoder_hidden = selu_stack(sizes[:0:-1])  # code -> ... -> first hidden size
        self.output = nn.Linear(sizes[1], sizes[0])

    def training_batches(self, data: InteractionData, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
        return user_rows(data, batch_size, rng)

    def hidden(self, rows: torch.Tensor) -> torch.Tensor:
        """[B, N + 1] item rows -> [B, hidden_sizes[0]], the decoder's last hidden layer."""
        return self.decoder_hidden(self.dropout(self.encoder(rows)))

    def reconstruct(self, rows: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(rows))

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        rows = multi_hot(batch.sequences["history"], self.num_items)
        return {"rows": rows, "reconstruction": self.reconstruct(rows)}

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        reconstruction, rows = outputs["reconstruction"][:, 1:], outputs["rows"][:, 1:]
        weights = 1 + (self.params.positive_weight - 1) * rows
        total = (weights * (reconstruction - rows).square()).mean()
        if self.params.dense_refeeding:
            dense = outputs["reconstruction"].detach().clamp(0.0, 1.0)
            total = total + F.mse_loss(self.reconstruct(dense)[:, 1:], dense[:, 1:])
        return total

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        hidden = self.hidden(multi_hot(batch.sequences["history"], self.num_items))
        return torch.cat([hidden, torch.ones(len(hidden), 1)], 1)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.output.weight[item_ids], self.output.bias[item_ids].unsqueeze(-1)], -1)
