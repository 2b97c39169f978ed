"""Feature-interaction operators over field vectors [B, F, dim]."""

from __future__ import annotations

import torch
from torch import nn


class FMInteraction(nn.Module):
    """Factorization-machine pairwise term (Rendle, ICDM 2010) in O(F * dim):
    sum_{i<j} <v_i, v_j> = 0.5 * sum_k ((sum_i v_ik)^2 - sum_i v_ik^2).  [B, F, dim] -> [B]."""

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        summed, flat = fields.sum(dim=1), fields.flatten(start_dim=1)
        # both terms summed over k before subtracting: two [B] vectors instead of a [B, dim] difference
        return 0.5 * ((summed * summed).sum(dim=1) - (flat * flat).sum(dim=1))
