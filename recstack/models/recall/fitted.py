"""Pieces for recall models that read a user as the whole set of their items, and for those fitted from the whole
interaction matrix instead of SGD on sampled pairs (ItemCF, UserCF, EASE, ALS, DeepRec, ENSFM, word2vec).

Two hooks of the recall recipe (`recstack/train/recall.py`) serve them:
  fit(data) -> objective or None     defined by a model: each epoch calls it instead of the SGD steps
  training_batches(data, B, rng)     defined by a model: the batches its loss reads, instead of pairs/sequences
and `reads_full_history = True` makes evaluation pass every history item (not the last history_length) as
`sequences["history"]` [B, L].
"""

from __future__ import annotations

from typing import ClassVar, Iterator

import numpy as np
import torch

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema, UserItems, user_batch
from recstack.models.recall.base import RecallModel, RecallParams


def interaction_matrix(rows: UserItems, num_items: int) -> torch.Tensor:
    """The 0/1 user-item matrix X as a sparse COO tensor [U, N + 1] (repeated items count once)."""
    indices = torch.from_numpy(np.stack([rows.row_users(), rows.items]))
    ones = torch.ones(indices.shape[1])
    matrix = torch.sparse_coo_tensor(indices, ones, (rows.num_users, num_items + 1), check_invariants=False)
    matrix = matrix.coalesce()
    matrix.values().clamp_(max=1.0)
    return matrix


def item_gram(data: InteractionData) -> torch.Tensor:
    """X^T X [N + 1, N + 1]: how many users have both items (the diagonal: each item's popularity)."""
    matrix = interaction_matrix(data.train, data.num_items)
    return torch.sparse.mm(matrix.t(), matrix.to_dense())


def multi_hot(history: torch.Tensor, num_items: int) -> torch.Tensor:
    """history [B, L] item ids (0 = padding) -> [B, N + 1] 0/1 rows, column 0 always 0."""
    rows = torch.zeros(history.shape[0], num_items + 1).scatter_(1, history, 1.0)
    rows[:, 0] = 0.0
    return rows


def keep_top_k(matrix: torch.Tensor, k: int) -> torch.Tensor:
    """[R, C] -> the same with all but each row's k largest entries set to 0 (ties: torch.topk's choice)."""
    if k >= matrix.shape[1]:
        return matrix
    top = matrix.topk(k, dim=1)
    return torch.zeros_like(matrix).scatter_(1, top.indices, top.values)


def user_rows(data: InteractionData, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
    """One epoch of users with training items, in random order: sparse [B, 2] = (user, 0) and
    sequences["history"] [B, L] = all their training items, left-padded to the batch's longest."""
    lengths = data.train.lengths()
    users = rng.permutation(np.flatnonzero(lengths > 0))
    for start in range(0, len(users), batch_size):
        chunk = users[start:start + batch_size]
        yield user_batch(chunk, data.train, int(lengths[chunk].max()))


def sparse_rows_score(users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """users [B, D] @ items [M, D].T for user rows that are mostly zeros (multi-hot histories, k-neighbour rows):
    a sparse product over contiguous rows of items.T. On Beauty's 12k items, a chunk of 1,386 seven-item users
    takes ~1.5 s with the transpose copy against ~13 s dense, one thread."""
    return torch.sparse.mm(users.to_sparse(), items.T.contiguous())


class ItemToItemModel(RecallModel):
    """score(u, i) = sum over the user's items j of W[j, i], one [N + 1, N + 1] item-item matrix W (ItemCF's
    similarities, EASE's regression weights). As embeddings: the user is their 0/1 row x_u [N + 1], item i is
    the column W[:, i], so score = x_u W and item_embedding(ids) -> [..., N + 1]. Subclasses fill W in fit(data).
    Memory is O(N²): fine for catalogues up to ~20k items."""

    reads_full_history: ClassVar[bool] = True

    def __init__(self, schema: InteractionSchema, params: RecallParams):
        super().__init__(schema, params)
        self.register_buffer("item_weights", torch.zeros(schema.num_items + 1, schema.num_items + 1))

    def fit(self, data: InteractionData) -> float | None:
        raise NotImplementedError

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return multi_hot(batch.sequences["history"], self.num_items)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.item_weights.T[item_ids]

    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return sparse_rows_score(users, items) if items.dim() == 2 else super().score(users, items)
