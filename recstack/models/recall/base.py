"""The recall model contract: a user vector, item vectors, a score between them, and a training loss.

    user_embedding(batch) -> [B, d]       from the batch's user ids and/or history (recstack.data.interactions)
    item_embedding(item_ids) -> [..., d]  any shape of item ids; item 0 is padding. Exported and indexed
                                          (FAISS) as item_embedding(arange(N + 1)) for serving.
    score(users [B, d], items [N, d] or [B, C, d]) -> [B, N] or [B, C]; the dot product unless a model says so
    forward(batch) -> outputs for loss(outputs, batch); the recipe evaluates with the three methods above.
    observe(data)  called by the recipe before training and inference with the InteractionData: anything a
                   model derives from the training interactions (item popularity for log-q, a graph).

`training_input` says which batches the recipe feeds: "pairs" (user, train item, sampled negatives, the
history before the item when params.history_length > 0) or "sequences" (each user's last history_length + 1
items as next-item inputs/targets). Pair models pick their loss by `hyper_parameters.loss`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import torch
from torch import nn

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.errors import ConfigError
from recstack.models.base import Model
from recstack.models.recall import losses


class RecallParams(HyperParameters):
    sparse_feature_dim: int = 64  # embedding width d
    loss: Literal["bpr", "bce", "sampled_softmax", "in_batch_softmax", "softmax", "cosine_rating"] = "bpr"
    num_negatives: int = 1  # sampled negatives per pair (bpr, bce, sampled_softmax) or per batch (sequences)
    history_length: int = 0  # items of history a model reads (sequence models, YouTube-DNN)
    temperature: float = 1.0  # softmax losses divide scores by it
    logq_correction: bool = True  # in_batch_softmax: subtract log item popularity
    batch_norm: bool = False


class RecallModel(Model):
    training_input: ClassVar[str] = "pairs"
    supported_losses: ClassVar[tuple[str, ...]] = ("bpr", "bce", "sampled_softmax", "in_batch_softmax")

    def __init__(self, schema: InteractionSchema, params: RecallParams):
        super().__init__(schema, params)
        if params.loss not in self.supported_losses:
            raise ConfigError(f"hyper_parameters.loss: {self.registered_name} trains with one of "
                              f"{', '.join(self.supported_losses)}, not {params.loss!r}")
        self.num_users, self.num_items = schema.num_users, schema.num_items
        self.register_buffer("item_log_q", torch.zeros(schema.num_items + 1))

    def observe(self, data: InteractionData) -> None:
        counts = data.item_counts().astype(np.float64) + 1.0  # +1: items unseen in training stay finite
        self.item_log_q.copy_(torch.from_numpy(np.log(counts / counts.sum())))

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return users @ items.T if items.dim() == 2 else (users.unsqueeze(1) * items).sum(-1)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        outputs = {"user": self.user_embedding(batch), "positive": self.item_embedding(batch.sparse[:, 1])}
        if self.params.loss in ("bpr", "bce", "sampled_softmax"):
            outputs["negatives"] = self.item_embedding(batch.sequences["negatives"])
        return outputs

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        user, positive, kind = outputs["user"], outputs["positive"], self.params.loss
        if kind == "in_batch_softmax":
            ids = batch.sparse[:, 1]
            total = losses.in_batch_softmax(user, positive, ids, self.item_log_q[ids] if self.params.logq_correction
                                            else None, self.params.temperature)
        elif kind == "cosine_rating":
            if "rating" not in batch.labels:
                raise ConfigError("hyper_parameters.loss: cosine_rating needs ratings; this data has none "
                                  "(runner.data_format movielens_sequence has them)")
            total = losses.cosine_rating(user, positive, batch.labels["rating"])
        else:
            pos_score = (user * positive).sum(-1)
            neg_score = self.score(user, outputs["negatives"])
            if kind == "bpr":
                total = losses.bpr(pos_score, neg_score)
            elif kind == "bce":
                total = losses.binary_cross_entropy(pos_score, neg_score)
            else:
                hit = batch.sequences["negatives"] == batch.sparse[:, 1:]
                total = losses.sampled_softmax(pos_score / self.params.temperature,
                                               neg_score / self.params.temperature, hit)
        return total + self.penalties()

    def penalties(self) -> torch.Tensor | float:
        """The L2 penalties layers recorded in this forward (and clears them)."""
        total = 0.0
        for module in self.modules():
            if getattr(module, "penalty", None) is not None:
                total, module.penalty = total + module.penalty, None
        return total

    def predict(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return outputs


class SequentialParams(RecallParams):
    loss: Literal["softmax", "sampled_softmax"] = "softmax"
    history_length: int = 50  # the last 50 items, as SASRec's Amazon runs


class SequentialRecallModel(RecallModel):
    """Next-item models (SASRec, GRU4Rec): `encode(history [B, L]) -> [B, L, d]`, the state after each position;
    the user vector is the state after the last (most recent) item. Trained with cross-entropy at every position
    over all items (`softmax`) or over `num_negatives` uniform items shared by the batch (`sampled_softmax`)."""

    training_input = "sequences"
    supported_losses = ("softmax", "sampled_softmax")

    def __init__(self, schema: InteractionSchema, params: RecallParams):
        super().__init__(schema, params)
        if params.history_length < 1:
            raise ConfigError("hyper_parameters.history_length: sequence models need at least 1 item of history")
        self.items = nn.Embedding(schema.num_items + 1, params.sparse_feature_dim, padding_idx=0)
        nn.init.normal_(self.items.weight[1:], std=params.sparse_feature_dim ** -0.5)

    def encode(self, history: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.encode(batch.sequences["history"])[:, -1]

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.items(item_ids)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"states": self.encode(batch.sequences["history"])}

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        targets = batch.sequences["targets"]
        states, targets = outputs["states"][targets > 0], targets[targets > 0]  # [M, d], [M]
        if self.params.loss == "softmax":
            return losses.full_softmax(states, self.items.weight, targets) + self.penalties()
        negatives = torch.randint(1, self.num_items + 1, (self.params.num_negatives,))
        positive = (states * self.items(targets)).sum(-1)
        return losses.sampled_softmax(positive, states @ self.items(negatives).T,
                                      hit=targets.unsqueeze(1) == negatives.unsqueeze(0)) + self.penalties()
