"""Match-Pyramid (Pang et al., "Text Matching as Image Recognition", AAAI 2016).

An interaction model: the matching matrix M[i, j] = sim(query word i, document word j) (dot product of word
vectors, or their cosine) is read like an image. A 2-D convolution (kernel_num kernels of conv_filter
[height, width], ReLU) finds matching patterns (n-gram and n-term matches), dynamic max-pooling brings the map
to a fixed pool_size grid whatever the text lengths, and an MLP (hidden_size, ReLU) gives the score. Padding
words have zero vectors, so they add nothing to M. Trained with the pairwise hinge loss.

query [B, 1, Lq], docs [B, K, 1, Ld] -> M [B*K, 1, Lq, Ld] -> [B*K, kernel_num, *pool_size] -> score [B, K].
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from recstack.models.base import register
from recstack.models.content.base import TextSchema
from recstack.models.match.base import PairParams, TextPairModel


class MatchPyramidParams(PairParams):
    query_len: int = 20
    doc_len: int = 500
    emb_size: int = 50
    similarity: Literal["dot", "cosine"] = "dot"
    kernel_num: int = 8
    conv_filter: list[int] = [2, 10]
    pool_size: list[int] = [3, 10]  # rows x columns of the pooled map (PaddleRec: 20x500 pooled 6x50 -> 3x10)
    hidden_size: int = 20
    margin: float = 1.0


@register("match_pyramid", MatchPyramidParams)
class MatchPyramid(TextPairModel):
    def __init__(self, schema: TextSchema, params: MatchPyramidParams):
        super().__init__(schema, params)
        self.words = self.word_table(params.emb_size)
        self.convolution = nn.Conv2d(1, params.kernel_num, tuple(params.conv_filter))
        self.pool = nn.AdaptiveMaxPool2d(tuple(params.pool_size))
        rows, columns = params.pool_size
        self.score_mlp = nn.Sequential(nn.Linear(params.kernel_num * rows * columns, params.hidden_size), nn.ReLU(),
                                       nn.Linear(params.hidden_size, 1))

    def matching_matrix(self, query: torch.Tensor, docs: torch.Tensor) -> torch.Tensor:
        """query [B, Lq], docs [B, K, Ld] -> [B, K, Lq, Ld]"""
        q, d = self.words(query), self.words(docs)
        if self.params.similarity == "cosine":
            q, d = F.normalize(q, dim=-1), F.normalize(d, dim=-1)
        return torch.einsum("bqe,bkde->bkqd", q, d)

    def score(self, query: torch.Tensor, docs: torch.Tensor) -> torch.Tensor:
        batch, candidates = docs.shape[:2]
        matrix = self.matching_matrix(query[:, 0], docs[:, :, 0]).flatten(0, 1).unsqueeze(1)
        (height, width), (rows, columns) = self.params.conv_filter, self.params.pool_size
        short_rows, short_columns = max(0, rows - matrix.shape[-2]), max(0, columns - matrix.shape[-1])
        # zero borders: a 'same'-size convolution output, with at least one cell per pooled output
        matrix = F.pad(matrix, ((width - 1) // 2, width // 2 + short_columns, (height - 1) // 2, height // 2 + short_rows))
        pooled = self.pool(torch.relu(self.convolution(matrix)))
        return self.score_mlp(pooled.flatten(1)).view(batch, candidates)
