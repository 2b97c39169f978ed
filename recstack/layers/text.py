"""Text encoders shared by the matching and content models.

Every text is a padded id sequence [..., L] with 0 = padding (the readers shift raw word ids by one).
`TokenEmbedding` looks the tokens up with padding rows fixed at zero; `ConvMaxPool` is the
convolution + max-over-time block of Kim (EMNLP 2014) that TextCNN, TagSpace and SimNet's CNN encoder
share; `TextEncoder` turns a text into one vector by bag-of-words pooling or that convolution.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


class TokenEmbedding(nn.Embedding):
    """[..., L] ids -> [..., L, dim] vectors; id 0 (padding) is the zero vector and never trained."""

    def __init__(self, vocab_size: int, dim: int, sparse: bool = False):
        super().__init__(vocab_size, dim, padding_idx=0, sparse=sparse)
        nn.init.normal_(self.weight, std=dim ** -0.5)
        with torch.no_grad():
            self.weight[0].zero_()


class ConvMaxPool(nn.Module):
    """One Conv1d per window width over the token vectors, an activation, then the max over positions.

    [B, L, dim] tokens + [B, L] mask -> [B, channels * len(windows)]. A position counts when the window
    starting there starts on a real token, so padding never wins the max; texts shorter than a window are
    zero-padded to it (as Kim's "wide enough" padding does).
    """

    def __init__(self, dim: int, channels: int, windows: list[int], activation: Literal["relu", "tanh"] = "relu"):
        super().__init__()
        if not windows or min(windows) < 1:
            raise ValueError(f"window widths must be positive, got {windows}")
        self.convolutions = nn.ModuleList(nn.Conv1d(dim, channels, width) for width in windows)
        self.windows, self.activation = list(windows), torch.relu if activation == "relu" else torch.tanh
        self.output_dim = channels * len(windows)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        shortfall = max(self.windows) - tokens.shape[1]
        if shortfall > 0:
            tokens, mask = F.pad(tokens, (0, 0, 0, shortfall)), F.pad(mask, (0, shortfall))
        mask = mask.clone()
        mask[:, 0] = True  # an empty text still gets a (zero-input) vector rather than -inf
        columns = tokens.transpose(1, 2)  # Conv1d wants [B, dim, L]
        pooled = []
        for conv in self.convolutions:
            feature_map = self.activation(conv(columns))  # [B, channels, L - width + 1]
            starts_on_text = mask[:, None, :feature_map.shape[-1]]
            pooled.append(feature_map.masked_fill(~starts_on_text, float("-inf")).amax(-1))
        return torch.cat(pooled, dim=-1)


class TextEncoder(nn.Module):
    """A text as one vector: `bow` sums the token vectors (DSSM / SimNet's BOW encoder), `cnn` runs
    ConvMaxPool over them (SimNet's CNN encoder). [..., L] ids -> [..., output_dim]."""

    def __init__(self, table: TokenEmbedding, kind: Literal["bow", "cnn"], channels: int = 128,
                 windows: tuple[int, ...] = (3,)):
        super().__init__()
        self.table, self.kind = table, kind
        self.convolution = ConvMaxPool(table.embedding_dim, channels, list(windows)) if kind == "cnn" else None
        self.output_dim = self.convolution.output_dim if self.convolution else table.embedding_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        leading, length = ids.shape[:-1], ids.shape[-1]
        flat = ids.reshape(-1, length)
        vectors = self.table(flat)
        if self.convolution is None:
            encoded = vectors.sum(1)  # padding rows are zero
        else:
            encoded = self.convolution(vectors, flat != 0)
        return encoded.reshape(*leading, -1)
