"""Two-tower recall over user and movie *features* (the recall model of `recstack demo movielens`), so a new user
recalls movies from a profile alone (the other recall models here embed ids and take InteractionSchema data;
this one takes the FeatureSchema tables of recstack.data.movielens_demo and trains with the generic trainer,
see recstack/demos/movielens/pipeline.py). PaddleRec's movie-demo recall
(user tower over id, gender, age, occupation; movie tower over id, genres, title words), trained with in-batch
softmax and the log-q correction (Yi et al., "Sampling-bias-corrected neural modeling for large corpus item
recommendations", RecSys 2019) or, as PaddleRec does, 5 * cos(user, movie) regressed on the rating.

user tower:  ids [B, 5] (USER_SLOTS)  -> [B, 5 * e] -> MLP(fc_sizes) -> [B, d], L2-normalised
movie tower: ids [B, 2] (MOVIE_SLOTS) ++ mean of genre ids [B, 6] ++ mean of title word ids [B, 8]
             -> [B, 4 * e] -> MLP(fc_sizes) -> [B, d], L2-normalised
score = cos(user, movie) / temperature. One hashed table of num_embeddings rows serves both towers
(recstack.data.movielens_demo hashes every slot into one id space). Batches are the demo's recall tables
(Batch contract: sparse [B, 7] = USER_SLOTS ++ MOVIE_SLOTS, sequences genres/title, labels["rating"]).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.data.movielens_demo import MOVIE_BAGS, MOVIE_SLOTS, USER_SLOTS
from recstack.data.schema import FeatureSchema
from recstack.layers import MLP, pool_bag
from recstack.models.base import Model, register
from recstack.models.recall import losses

USERS = len(USER_SLOTS)


class MovieTowerParams(HyperParameters):
    sparse_feature_number: int = 1 << 18  # the hashed id space (recstack.data.movielens_demo num_embeddings)
    sparse_feature_dim: int = 32  # e, per slot
    fc_sizes: list[int] = [128]
    output_dim: int = 64  # d, the vector the FAISS index holds
    loss: Literal["in_batch_softmax", "cosine_rating"] = "in_batch_softmax"
    temperature: float = 0.05
    logq_correction: bool = True
    batch_norm: bool = False
    # this fraction of training rows is repeated with user_id and zip set to id 0, the id every new user gets
    # online, so a profile alone (gender, age, occupation) recalls and ranks well; the rank model trains on
    # the same kind of rows (recstack.demos.movielens.pipeline)
    cold_start_fraction: float = 0.2


@register("movielens_two_tower", MovieTowerParams)
class MovieTwoTower(Model):
    def __init__(self, schema: FeatureSchema, params: MovieTowerParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.table = nn.Embedding(schema.num_embeddings, dim, sparse=self.sparse_grad)
        nn.init.normal_(self.table.weight, std=dim ** -0.5)
        self.user_tower = MLP(USERS * dim, params.fc_sizes, params.output_dim, params.dropout, params.batch_norm)
        item_fields = len(MOVIE_SLOTS) + len(MOVIE_BAGS)
        self.item_tower = MLP(item_fields * dim, params.fc_sizes, params.output_dim, params.dropout, params.batch_norm)
        # log popularity of each hashed movie id among the training positives (set by observe_movies)
        self.movie_keys, self.movie_log_q = torch.zeros(0, dtype=torch.long), torch.zeros(0)

    def user_vectors(self, user_ids: torch.Tensor) -> torch.Tensor:
        """[B, 5] hashed USER_SLOTS -> [B, d]."""
        return F.normalize(self.user_tower(self.table(user_ids).flatten(1)), dim=-1)

    def movie_vectors(self, movie_ids: torch.Tensor, genres: torch.Tensor, title: torch.Tensor) -> torch.Tensor:
        """[B, 2] hashed MOVIE_SLOTS, [B, 6] genre ids, [B, 8] title word ids (0 = padding) -> [B, d]."""
        fields = [self.table(movie_ids).flatten(1), pool_bag(self.table, genres, "mean"),
                  pool_bag(self.table, title, "mean")]
        return F.normalize(self.item_tower(torch.cat(fields, dim=1)), dim=-1)

    def observe_movies(self, movie_ids: torch.Tensor) -> None:
        """The hashed movie_id of every training positive: its frequency is the log-q correction."""
        self.movie_keys, counts = torch.unique(movie_ids, return_counts=True)
        self.movie_log_q = torch.log(counts.double() / counts.sum()).float()

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"user": self.user_vectors(batch.sparse[:, :USERS]),
                "movie": self.movie_vectors(batch.sparse[:, USERS:], batch.sequences["genres"],
                                            batch.sequences["title"])}

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        user, movie = outputs["user"], outputs["movie"]
        if self.params.loss == "cosine_rating":
            return losses.cosine_rating(user, movie, batch.labels["rating"])
        movie_ids = batch.sparse[:, USERS].contiguous()
        log_q = None
        if self.params.logq_correction and len(self.movie_keys):
            log_q = self.movie_log_q[torch.searchsorted(self.movie_keys, movie_ids).clamp_max(len(self.movie_keys) - 1)]
        return losses.in_batch_softmax(user, movie, movie_ids, log_q, self.params.temperature)

    def predict(self, outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"rating": 5 * (outputs["user"] * outputs["movie"]).sum(-1)}


class UserTower(nn.Module):
    """The exported half: hashed user slots [B, 5] -> vectors [B, d] (ONNX input "user", output "vectors")."""

    def __init__(self, model: MovieTwoTower):
        super().__init__()
        self.model = model

    def forward(self, user_ids: torch.Tensor) -> torch.Tensor:
        return self.model.user_vectors(user_ids)
