"""Attention over field vectors: multi-head self-attention across fields (AutoInt, DIFM), attention pooling of
pairwise products (AFM), and CENet field attention over field-aware embeddings (FAT-DeepFFM)."""

from __future__ import annotations

import torch
from torch import nn

from recstack.layers.gates import Excitation


class MultiHeadSelfAttention(nn.Module):
    """AutoInt's interacting layer (Song et al., CIKM 2019): every field attends to every field.

    Per head h: a_ij = softmax_j(<Q_h e_i, K_h e_j> (/ sqrt(attention_dim) when scaled)), o_i = sum_j a_ij V_h e_j;
    heads concatenated, plus W_res e_i when use_residual, then ReLU.
    [B, F, input_dim] -> [B, F, num_heads * attention_dim].
    """

    def __init__(self, input_dim: int, attention_dim: int, num_heads: int, use_residual: bool = True,
                 scaled: bool = False):
        super().__init__()
        self.num_heads, self.attention_dim = num_heads, attention_dim
        self.output_dim = num_heads * attention_dim
        self.query, self.key, self.value = (nn.Linear(input_dim, self.output_dim, bias=False) for _ in range(3))
        self.residual = nn.Linear(input_dim, self.output_dim, bias=False) if use_residual else None
        self.scale = attention_dim ** -0.5 if scaled else 1.0

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        batch, num_fields, _ = fields.shape
        query, key, value = (projection(fields).view(batch, num_fields, self.num_heads, self.attention_dim)
                             .transpose(1, 2) for projection in (self.query, self.key, self.value))  # [B, H, F, A]
        weights = (query @ key.transpose(-1, -2) * self.scale).softmax(dim=-1)  # [B, H, F, F]
        attended = (weights @ value).transpose(1, 2).reshape(batch, num_fields, self.output_dim)
        if self.residual is not None:
            attended = attended + self.residual(fields)
        return torch.relu(attended)


class AttentionalPairPooling(nn.Module):
    """AFM's attention-based pooling (Xiao et al., IJCAI 2017) of the pairwise products p_ij = v_i * v_j:
    sum_{i<j} a_ij p_ij with a = softmax over pairs of h^T ReLU(W p_ij + b).  [B, F, dim] -> [B, dim]."""

    def __init__(self, num_fields: int, dim: int, attention_dim: int):
        super().__init__()
        left, right = torch.triu_indices(num_fields, num_fields, offset=1)
        self.register_buffer("left", left, persistent=False)
        self.register_buffer("right", right, persistent=False)
        self.attention = nn.Sequential(nn.Linear(dim, attention_dim), nn.ReLU(),
                                       nn.Linear(attention_dim, 1, bias=False))

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        pairs = fields.index_select(1, self.left) * fields.index_select(1, self.right)  # [B, P, dim]
        return (self.attention(pairs).softmax(dim=1) * pairs).sum(dim=1)


class CENet(nn.Module):
    """FAT-DeepFFM's Compose-Excitation network (Zhang et al., 2019) over field-aware embeddings.

    compose: each vector v_ij -> one scalar by its own kernel over dim (a depth-wise 1-D convolution, started
    as mean pooling); excitation: the F*F scalars -> SENet's two ReLU layers -> one weight per vector;
    re-weight: v_ij * a_ij.  [B, F, F, dim] -> [B, F, F, dim].
    """

    def __init__(self, num_fields: int, dim: int, reduction_ratio: float):
        super().__init__()
        self.compose = nn.Parameter(torch.full((num_fields, num_fields, dim), 1.0 / dim))
        self.excitation = Excitation(num_fields * num_fields, reduction_ratio)

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        composed = (fields * self.compose).sum(dim=-1).flatten(start_dim=1)
        return fields * self.excitation(composed).view(fields.shape[:-1]).unsqueeze(-1)
