"""Gates that re-weight field vectors or hidden units: SENet (FiBiNET), GateNet's embedding and hidden
gates, MaskNet's instance-guided mask and MaskBlock, FinalMLP's feature selection, FinalNet's field gate."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.layers.mlp import MLP


class Excitation(nn.Sequential):
    """SENet's excitation: z [B, N] -> ReLU(W2 ReLU(W1 z)) [B, N], W1 narrowing to max(1, N / reduction_ratio)."""

    def __init__(self, num_inputs: int, reduction_ratio: float):
        reduced = max(1, int(num_inputs / reduction_ratio))
        super().__init__(nn.Linear(num_inputs, reduced, bias=False), nn.ReLU(),
                         nn.Linear(reduced, num_inputs, bias=False), nn.ReLU())


class SENet(nn.Module):
    """FiBiNET's squeeze-excitation over fields (Huang et al., RecSys 2019): squeeze each field vector to its
    mean, excite the F means to F weights, scale each field by its weight.  [B, F, dim] -> [B, F, dim]."""

    def __init__(self, num_fields: int, reduction_ratio: float):
        super().__init__()
        self.excitation = Excitation(num_fields, reduction_ratio)

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        return fields * self.excitation(fields.mean(dim=-1)).unsqueeze(-1)


class EmbeddingGate(nn.Module):
    """GateNet's feature embedding gate (Huang et al., 2020): e_i * sigmoid(W_i e_i) with a private W_i per field,
    [dim, dim] bit-wise (a gate per element) or [1, dim] vector-wise (one gate per field).  [B, F, dim] -> same."""

    def __init__(self, num_fields: int, dim: int, mode: Literal["bit", "vector"]):
        super().__init__()
        gates_per_field = dim if mode == "bit" else 1
        self.weight = nn.Parameter(torch.randn(num_fields, gates_per_field, dim) * dim ** -0.5)

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        return fields * torch.sigmoid(torch.einsum("bfd,fgd->bfg", fields, self.weight))


class HiddenGate(nn.Module):
    """GateNet's hidden gate on a hidden layer's output a: a * act(W_g a), act tanh as in PaddleRec's gate_dnn
    or sigmoid (a gate in (0, 1) that can only shrink a unit).  [B, width] -> [B, width]."""

    def __init__(self, width: int, activation: Literal["tanh", "sigmoid"] = "tanh"):
        super().__init__()
        self.gate = nn.Linear(width, width, bias=False)
        self.activation = torch.tanh if activation == "tanh" else torch.sigmoid

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden * self.activation(self.gate(hidden))


def with_hidden_gates(mlp: MLP, activation: Literal["tanh", "sigmoid"] = "tanh") -> nn.Sequential:
    """The MLP's layers with a HiddenGate after every hidden activation."""
    layers: list[nn.Module] = []
    width = 0
    for layer in mlp:
        layers.append(layer)
        if isinstance(layer, nn.Linear):
            width = layer.out_features
        elif isinstance(layer, nn.ReLU):
            layers.append(HiddenGate(width, activation))
    return nn.Sequential(*layers)


class InstanceGuidedMask(nn.Sequential):
    """MaskNet's instance-guided mask (Wang et al., DLP-KDD 2021): the flat embedding -> aggregation layer
    (ReLU, reduction_ratio * output_dim wide) -> linear projection, one multiplier per masked element.
    [B, input_dim] -> [B, output_dim]."""

    def __init__(self, input_dim: int, output_dim: int, reduction_ratio: float):
        aggregation = max(1, int(reduction_ratio * output_dim))
        super().__init__(nn.Linear(input_dim, aggregation), nn.ReLU(), nn.Linear(aggregation, output_dim))


class MaskBlock(nn.Module):
    """MaskNet's MaskBlock: ReLU(LayerNorm(W (mask(embedding) * hidden))), W without bias (LayerNorm has one).
    embedding [B, input_dim] (always the flat field vectors), hidden [B, hidden_dim] -> [B, output_dim]."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, reduction_ratio: float):
        super().__init__()
        self.mask = InstanceGuidedMask(input_dim, hidden_dim, reduction_ratio)
        self.feed_forward = nn.Sequential(nn.Linear(hidden_dim, output_dim, bias=False), nn.LayerNorm(output_dim),
                                          nn.ReLU())

    def forward(self, embedding: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        return self.feed_forward(self.mask(embedding) * hidden)


class FeatureSelectionGate(nn.Module):
    """FinalMLP's feature selection (Mao et al., AAAI 2023): flat fields * 2 sigmoid(MLP(context)), the context
    being the vectors of `context_fields`, or with none a learned vector (one gate for all samples).
    The context vectors are taken from `context_source` [B, F, dim] when given (FuxiCTR gives each gate its own
    embedding table for them), else from `fields`.  [B, F, dim] -> [B, F * dim]."""

    def __init__(self, num_fields: int, dim: int, context_fields: list[int], hidden: list[int]):
        super().__init__()
        self.context_fields = list(context_fields)
        self.learned_context = None if self.context_fields else nn.Parameter(torch.zeros(dim))
        self.mlp = MLP(dim * max(1, len(self.context_fields)), hidden, output_dim=num_fields * dim)

    def forward(self, fields: torch.Tensor, context_source: torch.Tensor | None = None) -> torch.Tensor:
        if self.learned_context is None:
            source = fields if context_source is None else context_source
            context = source[:, self.context_fields].flatten(start_dim=1)
        else:
            context = self.learned_context.expand(fields.shape[0], -1)
        return fields.flatten(start_dim=1) * 2 * torch.sigmoid(self.mlp(context))


class FieldGate(nn.Module):
    """FinalNet's field gating (Zhu et al., SIGIR 2023): gates g = a linear map across the field axis
    (starting at W = 0, b = 1, i.e. g = 1), output the fields and the gated fields stacked.
    [B, F, dim] -> [B, 2F, dim]."""

    def __init__(self, num_fields: int):
        super().__init__()
        self.linear = nn.Linear(num_fields, num_fields)
        nn.init.zeros_(self.linear.weight)
        nn.init.ones_(self.linear.bias)

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        gates = self.linear(fields.transpose(1, 2)).transpose(1, 2)
        return torch.cat([fields, fields * gates], dim=1)
