"""TiSASRec: time interval aware self-attention for sequential recommendation (Li et al., WSDM 2020).

history [B, L] (left-padded) with its times -> item vectors * sqrt(d) -> num_blocks causal self-attention blocks
in which query i reads key j through its item, its absolute position and the time interval r_ij between them:
    e_ij = q_i . (k_j + P^K_j + R^K[r_ij]) / sqrt(d),   z_i = sum_j softmax_j(e_ij) (v_j + P^V_j + R^V[r_ij])
    r_ij = min(|t_i - t_j| // s_u, time_span), s_u the user's smallest non-zero gap between train interactions,
then a position-wise feed-forward; -> LayerNorm -> states [B, L, d], scored against the shared item table.
Times come from the data (`runner.data_format: movielens_sequence`); `observe` keeps each (user, item)'s time
(a repeated item: its latest train/valid time) and batches are looked up there, so batches need no time column.
Defaults as the paper: 2 blocks, 1 head, dropout 0.2, time_span 256; trained like SASRec here (cross-entropy
over all items, not the paper's one sampled negative).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema
from recstack.errors import ConfigError
from recstack.models.base import register
from recstack.models.recall.base import SequentialParams, SequentialRecallModel
from recstack.models.recall.blocks import sequence_attention_mask


class TiSASRecParams(SequentialParams):
    num_blocks: int = 2
    dropout: float = 0.2
    time_span: int = 256  # k: longer intervals share the last interval vector


class TimeIntervalBlock(nn.Module):
    """One single-head block: x [B, L, d] -> [B, L, d]. Since intervals take time_span + 1 values, q_i . R[r_ij]
    is read from q @ R^T [B, L, k + 1] and sum_j a_ij R[r_ij] from the attention mass per interval @ R, never
    materialising [B, L, L, d]."""

    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.ffn = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, intervals: torch.Tensor, attend: torch.Tensor,
                positions: tuple[torch.Tensor, torch.Tensor], interval_table: tuple[torch.Tensor, torch.Tensor]
                ) -> torch.Tensor:
        """x [B, L, d], intervals [B, L, L], attend [B, L, L] bool; positions (P^K, P^V) [L, d];
        interval_table (R^K, R^V) [time_span + 1, d]."""
        (position_keys, position_values), (interval_keys, interval_values) = positions, interval_table
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        logits = q @ (k + position_keys).transpose(1, 2) + (q @ interval_keys.T).gather(2, intervals)
        weights = (logits / x.shape[-1] ** 0.5).masked_fill(~attend, float("-inf")).softmax(-1)
        weights = self.dropout(weights)
        mass = torch.zeros(*weights.shape[:2], len(interval_values)).scatter_add_(2, intervals, weights)
        x = x + self.dropout(weights @ (v + position_values) + mass @ interval_values)
        return x + self.dropout(self.ffn(self.norm2(x)))


@register("tisasrec", TiSASRecParams)
class TiSASRec(SequentialRecallModel):
    def __init__(self, schema: InteractionSchema, params: TiSASRecParams):
        super().__init__(schema, params)
        dim, length = params.sparse_feature_dim, params.history_length
        self.position_keys, self.position_values = nn.Embedding(length, dim), nn.Embedding(length, dim)
        self.interval_keys = nn.Embedding(params.time_span + 1, dim)
        self.interval_values = nn.Embedding(params.time_span + 1, dim)
        self.dropout = nn.Dropout(params.dropout)
        self.blocks = nn.ModuleList(TimeIntervalBlock(dim, params.dropout) for _ in range(params.num_blocks))
        self.norm = nn.LayerNorm(dim)
        for name in ("time_keys", "times", "time_scale"):  # filled by observe(); derived, so not saved
            self.register_buffer(name, torch.zeros(0, dtype=torch.int64), persistent=False)

    def observe(self, data: InteractionData) -> None:
        super().observe(data)
        if data.timestamps is None:
            raise ConfigError("model: tisasrec needs interaction times; use runner.data_format: movielens_sequence")
        seen = data.train.concat(data.valid)  # the test items never enter a history
        users, items, lengths = seen.row_users(), seen.items, seen.lengths()
        position = np.arange(len(items)) - np.repeat(seen.indptr[:-1], lengths)  # within the user's sequence
        times = data.timestamps.items[np.repeat(data.timestamps.indptr[:-1], lengths) + position]
        keys = users * (data.num_items + 1) + items
        order = np.lexsort((times, keys))
        latest = np.append(keys[order][1:] != keys[order][:-1], True)
        self.time_keys, self.times = torch.from_numpy(keys[order][latest]), torch.from_numpy(times[order][latest])
        gaps = np.diff(times)
        in_train = (users[1:] == users[:-1]) & (position[1:] < data.train.lengths()[users[1:]])
        scale = np.full(data.num_users, np.iinfo(np.int64).max)
        np.minimum.at(scale, users[1:][in_train & (gaps > 0)], gaps[in_train & (gaps > 0)])
        self.time_scale = torch.from_numpy(np.where(scale == np.iinfo(np.int64).max, 1, scale))

    def intervals(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """[B], [B, L] -> r [B, L, L] int64 in 0..time_span."""
        keys = users.unsqueeze(1) * (self.num_items + 1) + history
        found = torch.searchsorted(self.time_keys, keys).clamp(max=len(self.time_keys) - 1)
        times = torch.where(history > 0, self.times[found], 0)
        gaps = (times.unsqueeze(2) - times.unsqueeze(1)).abs() // self.time_scale[users].view(-1, 1, 1)
        return gaps.clamp(max=self.params.time_span)

    def encode_with_times(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        length, keep = history.shape[1], (history > 0).unsqueeze(-1).float()
        attend, intervals = sequence_attention_mask(history), self.intervals(users, history)
        positions = (self.position_keys.weight[-length:], self.position_values.weight[-length:])
        interval_table = (self.interval_keys.weight, self.interval_values.weight)
        states = self.dropout(self.items(history) * self.params.sparse_feature_dim ** 0.5) * keep
        for block in self.blocks:
            states = block(states, intervals, attend, positions, interval_table) * keep
        return self.norm(states)

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        return self.encode_with_times(batch.sparse[:, 0], batch.sequences["history"])[:, -1]

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"states": self.encode_with_times(batch.sparse[:, 0], batch.sequences["history"])}
