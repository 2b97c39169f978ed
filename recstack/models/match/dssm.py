"""DSSM: Deep Structured Semantic Model (Huang et al., "Learning Deep Structured Semantic Models for Web
Search using Clickthrough Data", CIKM 2013).

Each side is a bag of (letter-trigram or word) ids, i.e. a sparse count vector x over the vocabulary. A tower
of tanh layers maps it to a semantic vector: l1 = tanh(W1 x + b1) (W1 x is the sum of the ids' rows of a
[vocab, fc_sizes[0]] table), l_i = tanh(W_i l_{i-1} + b_i) up to fc_sizes[-1] = d. Relevance is the cosine
of the query and document vectors; training maximises the softmax of gamma * cos(q, d+) among the positive
and `neg_num` sampled negatives (paper: 4 negatives, gamma tuned; fc_sizes [300, 300, 128]).

query [B, 1, Lq] -> [B, d]; docs [B, K, 1, Ld] -> [B, K, d]; score [B, K].
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.layers.text import TextEncoder, TokenEmbedding
from recstack.models.base import register
from recstack.models.content.base import TextSchema
from recstack.models.match.base import PairParams, TwoTowerMatch


class DSSMParams(PairParams):
    fc_sizes: list[int] = [300, 300, 128]
    neg_num: int = 4
    loss: Literal["softmax", "hinge"] = "softmax"
    share_towers: bool = False  # one tower for queries and documents (the paper keeps two)


class SemanticTower(nn.Module):
    """Bag of ids (a table of fc_sizes[0] columns) -> tanh layers of widths fc_sizes. [..., L] -> [..., fc_sizes[-1]]"""

    def __init__(self, table: TokenEmbedding, fc_sizes: list[int]):
        super().__init__()
        self.bag = TextEncoder(table, "bow")
        self.bias = nn.Parameter(torch.zeros(fc_sizes[0]))
        layers: list[nn.Module] = []
        for width_in, width_out in zip(fc_sizes, fc_sizes[1:]):
            layers += [nn.Linear(width_in, width_out), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.tanh(self.bag(ids) + self.bias))


@register("dssm", DSSMParams)
class DSSM(TwoTowerMatch):
    def __init__(self, schema: TextSchema, params: DSSMParams):
        super().__init__(schema, params)
        width = params.fc_sizes[0]
        self.query_tower = SemanticTower(self.word_table(width), params.fc_sizes)
        self.doc_tower = (self.query_tower if params.share_towers
                          else SemanticTower(self.word_table(width), params.fc_sizes))

    def encode_query(self, query: torch.Tensor) -> torch.Tensor:
        return self.query_tower(query[..., 0, :])

    def encode_doc(self, docs: torch.Tensor) -> torch.Tensor:
        return self.doc_tower(docs[..., 0, :])
