"""Interaction data for recall models: users' items (train / valid / test), negative sampling, batches.

Ids are re-indexed on load: users 0..U-1, items 1..N in sorted raw-id order, with item 0 kept as padding (never
a real item), so one item table of N + 1 rows serves every model and `item_embedding(arange(N + 1))` scores the
whole catalogue. Each split is a `UserItems` (CSR rows, one per user, items in time order).

Batches follow the Batch contract with these names (B rows, dense is [B, 0]):
  sparse [B, 2]                    user id, target item id (0 in evaluation batches)
  sequences["history"] [B, L]      the user's last L items before the target, left-padded with 0 (most recent last)
  sequences["negatives"] [B, n]    sampled items the user has not interacted with (pair batches)
  sequences["targets"] [B, L]      next item after each history position, 0 where padded (sequence batches)
  labels["rating"] [B]             the rating of the (user, target) pair when the data has ratings
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from recstack.data.batch import Batch
from recstack.data.formats.diginetica import read_diginetica_sessions
from recstack.data.formats.user_items import read_movielens_ratings, read_user_lines
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.errors import ConfigError


@dataclass(frozen=True)
class InteractionSchema(FeatureSchema):
    """What a recall model is built for: U users, N items (ids 1..N, 0 = padding)."""

    sparse: tuple[SparseSlot, ...] = (SparseSlot("user"), SparseSlot("item"))
    num_dense: int = 0
    labels: tuple[str, ...] = ("rating",)
    num_users: int = 0
    num_items: int = 0


@dataclass(frozen=True)
class UserItems:
    """Per-user item lists as CSR: user u's items are items[indptr[u]:indptr[u + 1]]."""

    indptr: np.ndarray  # [U + 1] int64
    items: np.ndarray  # [nnz] int64

    @classmethod
    def from_lists(cls, rows: list[np.ndarray]) -> "UserItems":
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        items = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
        return cls(indptr, items)

    @property
    def num_users(self) -> int:
        return len(self.indptr) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def row_users(self) -> np.ndarray:
        """[nnz] the user of every stored item."""
        return np.repeat(np.arange(self.num_users), self.lengths())

    def window(self, starts: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
        """[B, length] items[ends - length : ends] per row, positions before `starts` padded with 0 on the left."""
        index = ends[:, None] - length + np.arange(length)[None, :]
        return np.where(index >= starts[:, None], self.items[np.clip(index, 0, None)], 0) if len(self.items) \
            else np.zeros((len(ends), length), np.int64)

    def last(self, users: np.ndarray, length: int) -> np.ndarray:
        """[B, length] each user's last `length` items, left-padded with 0."""
        return self.window(self.indptr[users], self.indptr[users + 1], length)

    def coo(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row in `users`, item) for every item of the given users."""
        lengths = self.indptr[users + 1] - self.indptr[users]
        rows = np.repeat(np.arange(len(users)), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return rows, self.items[np.repeat(self.indptr[users], lengths) + offsets]

    def concat(self, other: "UserItems") -> "UserItems":
        """Row-wise concatenation: each user's items here, then theirs in `other`."""
        owners = np.concatenate([self.row_users(), other.row_users()])
        order = np.argsort(owners, kind="stable")
        return UserItems(self.indptr + other.indptr, np.concatenate([self.items, other.items])[order])


@dataclass
class InteractionData:
    num_users: int
    num_items: int  # real items are 1..num_items
    train: UserItems
    valid: UserItems
    test: UserItems
    user_ids: np.ndarray  # [U] raw id of each user
    item_ids: np.ndarray  # [N + 1] raw id of each item (-1 for padding)
    train_ratings: np.ndarray | None = None  # aligned with train.items
    timestamps: UserItems | None = None  # movielens_sequence: each user's times, train then valid then test items

    @property
    def schema(self) -> InteractionSchema:
        return InteractionSchema(num_users=self.num_users, num_items=self.num_items,
                                 num_embeddings=self.num_items + 1)

    def item_counts(self) -> np.ndarray:
        """[N + 1] training interactions per item (popularity)."""
        return np.bincount(self.train.items, minlength=self.num_items + 1)

    def eval_split(self, split: str) -> tuple[UserItems, UserItems]:
        """(history the model sees and full ranking excludes, items to find) for 'valid' or 'test'."""
        if split == "valid":
            return self.train, self.valid
        return self.train.concat(self.valid), self.test


def leave_one_out(sequences: list[np.ndarray]) -> tuple[UserItems, UserItems, UserItems]:
    """Last item test, second-to-last valid, the rest train; users with fewer than 3 items only train."""
    train, valid, test = [], [], []
    for items in sequences:
        held = 2 if len(items) >= 3 else 0
        train.append(items[:len(items) - held])
        valid.append(items[len(items) - held:len(items) - held + 1])
        test.append(items[len(items) - held + 1:] if held else items[:0])
    return UserItems.from_lists(train), UserItems.from_lists(valid), UserItems.from_lists(test)


def _item_index(rows: list[np.ndarray]) -> np.ndarray:
    """Sorted raw item ids; raw_items[i - 1] is item i."""
    return np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)


def random_holdout(sequences: list[np.ndarray], fraction: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(train, valid): a random `fraction` of each user's items (rounded; none from users with one item) becomes
    validation, the rest keep their order. Seed 0, not the run's: every training seed validates on the same items."""
    rng, train, valid = np.random.default_rng(0), [], []
    for items in sequences:
        held = rng.random(len(items)).argsort()[:int(round(fraction * len(items))) if len(items) > 1 else 0]
        keep = np.ones(len(items), bool)
        keep[held] = False
        train.append(items[keep])
        valid.append(items[np.sort(held)])
    return train, valid


def load_interactions(data_format: str, train_path, test_path=None, valid_fraction: float = 0.0) -> InteractionData:
    """`user_items`: user lines (train_path), test items from test_path or else leave-one-out by position;
    with a test file, `valid_fraction` of each user's train items (random) validates;
    `movielens_sequence`: u.data sorted by timestamp per user (ties keep file order), leave-one-out, with the times;
    `diginetica_sessions`: DIGINETICA item views, sessions as users, leave-one-out."""
    ratings, test_rows, times = None, [], None
    if data_format == "user_items":
        users, sequences = read_user_lines(train_path)
        if test_path is not None:
            test_users, test_lists = read_user_lines(test_path)
            unknown = np.setdiff1d(test_users, users)
            if len(unknown):
                raise ConfigError(f"runner.test_data_dir: {test_path} has users missing from the train file, "
                                  f"e.g. {unknown[:5].tolist()}")
            by_user = dict(zip(test_users.tolist(), test_lists))
            test_rows = [by_user.get(u, np.zeros(0, np.int64)) for u in users.tolist()]
    elif data_format == "movielens_sequence":
        table = read_movielens_ratings(train_path)
        order = np.lexsort((table["line"], table["timestamp"], table["user"]))
        user_col, item_col = table["user"][order], table["item"][order]
        users, starts = np.unique(user_col, return_index=True)
        sequences = np.split(item_col, starts[1:])
        rating_rows = np.split(table["rating"][order], starts[1:])
        times = UserItems.from_lists(np.split(table["timestamp"][order], starts[1:]))
    elif data_format == "diginetica_sessions":  # sessions as users, views in time order
        users, sequences = read_diginetica_sessions(train_path)
    else:
        raise ConfigError(f"runner.data_format: recall models read 'user_items', 'movielens_sequence' or "
                          f"'diginetica_sessions', "
                          f"not {data_format!r}")
    raw_items = _item_index(list(sequences) + list(test_rows))
    remap = lambda rows: [np.searchsorted(raw_items, r) + 1 for r in rows]  # noqa: E731
    sequences = remap(sequences)
    if test_rows:
        train_rows, valid_rows = random_holdout(sequences, valid_fraction)
        train, valid = UserItems.from_lists(train_rows), UserItems.from_lists(valid_rows)
        test = UserItems.from_lists(remap(test_rows))
    else:
        train, valid, test = leave_one_out(sequences)
        if data_format == "movielens_sequence":
            ratings = leave_one_out(rating_rows)[0].items.astype(np.float32)
    return InteractionData(len(users), len(raw_items), train, valid, test, users,
                           np.concatenate([[-1], raw_items]), ratings, times)


# ---- negative sampling and batches --------------------------------------------------------------------------

class NegativeSampler:
    """Items drawn uniformly from 1..N, redrawn (up to `rounds` times) where the user has them in `positives`."""

    def __init__(self, positives: UserItems, num_items: int, rounds: int = 5):
        self.num_items, self.rounds = num_items, rounds
        self.keys = np.sort(positives.row_users() * (num_items + 1) + positives.items)  # (user, item) sorted

    def sample(self, users: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
        """[B, count] negatives for each of `users`."""
        negatives = rng.integers(1, self.num_items + 1, size=(len(users), count))
        if not len(self.keys):
            return negatives
        for _ in range(self.rounds):
            query = users[:, None] * (self.num_items + 1) + negatives
            hit = self.keys[np.searchsorted(self.keys, query).clip(max=len(self.keys) - 1)] == query
            if not hit.any():
                break
            negatives[hit] = rng.integers(1, self.num_items + 1, size=int(hit.sum()))
        return negatives


def _batch(users: np.ndarray, target_items: np.ndarray, **sequences: np.ndarray) -> Batch:
    return Batch(dense=torch.zeros(len(users), 0),
                 sparse=torch.from_numpy(np.stack([users, target_items], axis=1).astype(np.int64)),
                 sequences={k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.int64)) for k, v in sequences.items()})


def pair_batches(data: InteractionData, batch_size: int, rng: np.random.Generator, num_negatives: int,
                 history_length: int = 0, exclude_positives: bool = True) -> Iterator[Batch]:
    """One epoch of (user, train item) pairs in random order, with sampled negatives (redrawn where the user has
    them when exclude_positives) and (history_length > 0) the items the user had before each target."""
    train, pair_users = data.train, data.train.row_users()
    sampler = NegativeSampler(train, data.num_items, rounds=5 if exclude_positives else 0)
    order = rng.permutation(len(train.items))
    for start in range(0, len(order), batch_size):
        position = order[start:start + batch_size]
        users = pair_users[position]
        sequences = {"negatives": sampler.sample(users, num_negatives, rng)}
        if history_length:
            sequences["history"] = train.window(train.indptr[users], position, history_length)
        batch = _batch(users, train.items[position], **sequences)
        if data.train_ratings is not None:
            batch.labels["rating"] = torch.from_numpy(data.train_ratings[position])
        yield batch


def sequence_batches(data: InteractionData, batch_size: int, rng: np.random.Generator,
                     history_length: int) -> Iterator[Batch]:
    """One epoch of users (each once): their last history_length + 1 train items as inputs `history` and
    next-item `targets`, the training of SASRec / GRU4Rec. Users are batched with users of similar length (sorted
    by length with random ties, batches in random order) and each batch is only as long as its longest history,
    which on short-sequence data (Amazon: ~9 items a user) cuts the work several times over."""
    train = data.train
    lengths = train.lengths()
    users = np.flatnonzero(lengths >= 2)
    users = users[np.lexsort((rng.random(len(users)), lengths[users]))]
    starts = rng.permutation(np.arange(0, len(users), batch_size))
    for start in starts:
        chunk = users[start:start + batch_size]
        length = int(min(history_length, lengths[chunk].max() - 1))
        ends = train.indptr[chunk + 1]
        history = train.window(train.indptr[chunk], ends - 1, length)
        targets = np.where(history > 0, train.window(train.indptr[chunk], ends, length), 0)
        yield _batch(chunk, targets[:, -1], history=history, targets=targets)


def user_batch(users: np.ndarray, history: UserItems, history_length: int) -> Batch:
    """Evaluation input for `users`: their last history_length items (none when history_length is 0)."""
    sequences = {"history": history.last(users, history_length)} if history_length else {}
    return _batch(users, np.zeros(len(users), np.int64), **sequences)
