"""Product layers over field vectors [B, F, dim]: pairwise dot products (PNN's inner product, DLRM's
interaction) and PNN's outer product."""

from __future__ import annotations

import torch
from torch import nn


class DotInteraction(nn.Module):
    """<v_i, v_j> for every field pair i < j (i <= j with `self_interaction`), picked from the Gram matrix
    by index tensors; `keep`, a boolean mask over those pairs, picks a subset (AutoFIS's retrained pairs).
    [B, F, dim] -> [B, F(F-1)/2] (or [B, F(F+1)/2], or [B, keep.sum()])."""

    def __init__(self, num_fields: int, self_interaction: bool = False, keep: torch.Tensor | None = None):
        super().__init__()
        rows, cols = torch.triu_indices(num_fields, num_fields, offset=0 if self_interaction else 1)
        if keep is not None:
            rows, cols = rows[keep], cols[keep]
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.output_dim = rows.numel()

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        gram = fields @ fields.transpose(1, 2)
        return gram[:, self.rows, self.cols]


class OuterProduct(nn.Module):
    """PNN's outer-product signal with the paper's superposition: p = f_S f_S^T where f_S = sum_i f_i,
    which equals sum_{i,j} f_i f_j^T at O(dim^2) cost.  [B, F, dim] -> [B, dim * dim]."""

    def __init__(self, dim: int):
        super().__init__()
        self.output_dim = dim * dim

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        field_sum = fields.sum(dim=1)
        return torch.einsum("bi,bj->bij", field_sum, field_sum).flatten(start_dim=1)
