"""MultiView-SimNet: multi-view matching (Baidu's SimNet; multi-view user/item towers after Elkahky et al.,
"A Multi-View Deep Learning Approach for Cross Domain User Modeling in Recommendation Systems", WWW 2015).

Query and title each arrive as several views (PaddleRec's slots: e.g. words, phrases, categories). Every view
has its own encoder over one shared word table: `bow` sums the word vectors, `cnn` is a convolution + max
pooling over windows of `window` words (query_encode_dim / title_encode_dim channels). A side's views are
concatenated and projected by one tanh layer to `hidden_size`; relevance is the cosine of the two sides, and
training pushes cos(q, t+) above cos(q, t-) by `margin` (hinge loss).

query [B, Q, Lq] -> [B, hidden]; docs [B, K, T, Ld] -> [B, K, hidden]; score [B, K].
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from recstack.errors import ConfigError
from recstack.layers.text import TextEncoder, TokenEmbedding
from recstack.models.base import register
from recstack.models.content.base import TextSchema
from recstack.models.match.base import PairParams, TwoTowerMatch


class MultiViewSimNetParams(PairParams):
    query_slots: int = 1
    title_slots: int = 1
    query_encoder: Literal["bow", "cnn"] = "bow"
    title_encoder: Literal["bow", "cnn"] = "bow"
    query_encode_dim: int = 128  # cnn channels per query view (bow: the embedding width)
    title_encode_dim: int = 128
    embedding_dim: int = 128
    hidden_size: int = 128
    window: int = 3  # cnn window width in words


class MultiViewTower(nn.Module):
    """V views -> one encoder each -> concatenation -> tanh layer. [..., V, L] -> [..., hidden]"""

    def __init__(self, table: TokenEmbedding, views: int, kind: str, channels: int, window: int, hidden: int):
        super().__init__()
        self.encoders = nn.ModuleList(TextEncoder(table, kind, channels, (window,)) for _ in range(views))
        self.project = nn.Sequential(nn.Linear(sum(e.output_dim for e in self.encoders), hidden), nn.Tanh())

    def forward(self, views: torch.Tensor) -> torch.Tensor:
        encoded = [encoder(views[..., v, :]) for v, encoder in enumerate(self.encoders)]
        return self.project(torch.cat(encoded, dim=-1))


@register("multiview_simnet", MultiViewSimNetParams)
class MultiViewSimNet(TwoTowerMatch):
    multi_view = True

    def __init__(self, schema: TextSchema, params: MultiViewSimNetParams):
        super().__init__(schema, params)
        if (schema.query_views, schema.doc_views) != (params.query_slots, params.title_slots):
            raise ConfigError(f"hyper_parameters.query_slots / title_slots ({params.query_slots}, "
                              f"{params.title_slots}) differ from the data's views ({schema.query_views}, "
                              f"{schema.doc_views})")
        table = self.word_table(params.embedding_dim)
        self.query_tower = MultiViewTower(table, params.query_slots, params.query_encoder, params.query_encode_dim,
                                          params.window, params.hidden_size)
        self.title_tower = MultiViewTower(table, params.title_slots, params.title_encoder, params.title_encode_dim,
                                          params.window, params.hidden_size)

    def encode_query(self, query: torch.Tensor) -> torch.Tensor:
        return self.query_tower(query)

    def encode_doc(self, docs: torch.Tensor) -> torch.Tensor:
        return self.title_tower(docs)
