"""Pieces recall models share: id tables with an L2 penalty on the rows a batch looked up."""

from __future__ import annotations

import torch
from torch import nn


class IdEmbedding(nn.Embedding):
    """An id -> vector table, N(0, std²) initialised, that adds l2 * (sum of squares of the looked-up rows) / rows
    of the lookup to `penalty` on every training lookup (the model's loss collects and clears it): the usual
    MF/BPR/LightGCN regulariser on the user, positive and negative vectors of a batch."""

    def __init__(self, num_embeddings: int, dim: int, l2: float = 0.0, sparse: bool = False, std: float = 0.1,
                 padding_idx: int | None = None):
        super().__init__(num_embeddings, dim, sparse=sparse, padding_idx=padding_idx)
        nn.init.normal_(self.weight, std=std)
        if padding_idx is not None:
            with torch.no_grad():
                self.weight[padding_idx].zero_()
        self.l2 = l2
        self.penalty: torch.Tensor | None = None

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = super().forward(ids)
        if self.training and self.l2 > 0:
            term = self.l2 * rows.pow(2).sum() / ids.shape[0]
            self.penalty = term if self.penalty is None else self.penalty + term
        return rows


class TransformerBlock(nn.Module):
    """A pre-LayerNorm Transformer encoder block (Vaswani et al. 2017) over [B, L, d] item sequences:
    x + Dropout(MultiHeadAttention(LN(x))), then x + Dropout(FFN(LN(x))) with FFN = Linear-ReLU-Dropout-Linear.
    `attend` [B, L, L] bool says which keys each query may see (see `sequence_attention_mask`)."""

    def __init__(self, dim: int, num_heads: int, dropout: float, ffn_dim: int | None = None):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embedding width {dim} is not divisible by num_heads {num_heads}")
        self.num_heads, self.attention_dropout = num_heads, dropout
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim or dim), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(ffn_dim or dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(batch, length, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        attended = nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=attend.unsqueeze(1), dropout_p=self.attention_dropout if self.training else 0.0)
        x = x + self.dropout(self.out(attended.transpose(1, 2).reshape(batch, length, dim)))
        return x + self.dropout(self.ffn(self.norm2(x)))


def sequence_attention_mask(history: torch.Tensor, causal: bool = True) -> torch.Tensor:
    """[B, L] padded ids -> [B, L, L] bool: query i sees real items j (j <= i when causal), and itself, so padded
    positions (which no loss reads) still have one key and never produce NaN."""
    length = history.shape[1]
    attend = (history > 0).unsqueeze(1).expand(-1, length, -1)
    if causal:
        attend = attend & torch.ones(length, length, dtype=torch.bool).tril()
    return attend | torch.eye(length, dtype=torch.bool)
