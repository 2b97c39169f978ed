"""The matching-model contract: a relevance score for (query, document) pairs and a pairwise loss.

    score(query [B, Vq, Lq], docs [B, K, Vd, Ld]) -> [B, K]   V = views (MultiView-SimNet's slots; 1 otherwise)
    loss(scores [B, 1 + N]) -> scalar   column 0 is the more relevant document, columns 1.. are N less
                                        relevant ones from the same query's list (recstack/train/text.py)

`loss: softmax` is DSSM's: cross-entropy of the positive among the 1 + N candidates with scores scaled by
`gamma`; `loss: hinge` is SimNet's and Match-Pyramid's: mean of max(0, margin - s_pos + s_neg).
Representation models (DSSM, SimNet) encode each side to a vector and score by cosine (`TwoTowerMatch`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F

from recstack.errors import ConfigError
from recstack.models.content.base import TextModel, TextParams, TextSchema


class PairParams(TextParams):
    query_len: int = 20  # words read per query view (Match-Pyramid's sentence_left_size)
    doc_len: int = 100  # words read per document view (sentence_right_size)
    neg_num: int = 1  # less relevant documents per training pair
    loss: Literal["softmax", "hinge"] = "hinge"
    margin: float = 0.1
    gamma: float = 10.0  # softmax smoothing (DSSM's gamma)


def hinge(positive: torch.Tensor, negatives: torch.Tensor, margin: float) -> torch.Tensor:
    """positive [B, 1], negatives [B, N] -> mean over pairs of max(0, margin - positive + negative)."""
    return F.relu(margin - positive + negatives).mean()


class TextPairModel(TextModel):
    multi_view: ClassVar[bool] = False  # reads several views (slots) per side

    def __init__(self, schema: TextSchema, params: PairParams):
        super().__init__(schema, params)
        if params.neg_num < 1:
            raise ConfigError(f"hyper_parameters.neg_num must be at least 1, got {params.neg_num}")
        if not self.multi_view and (schema.query_views, schema.doc_views) != (1, 1):
            raise ConfigError(f"{self.registered_name} reads one text per side; the data has {schema.query_views} "
                              f"query and {schema.doc_views} document views (multiview_simnet reads several)")

    def score(self, query: torch.Tensor, docs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, scores: torch.Tensor) -> torch.Tensor:
        if self.params.loss == "softmax":
            targets = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
            return F.cross_entropy(self.params.gamma * scores, targets)
        return hinge(scores[:, :1], scores[:, 1:], self.params.margin)


class TwoTowerMatch(TextPairModel):
    """Representation-based matching: score = cos(encode_query(query), encode_doc(doc))."""

    def encode_query(self, query: torch.Tensor) -> torch.Tensor:
        """[B, Vq, Lq] -> [B, d]"""
        raise NotImplementedError

    def encode_doc(self, docs: torch.Tensor) -> torch.Tensor:
        """[..., Vd, Ld] -> [..., d]"""
        raise NotImplementedError

    def score(self, query: torch.Tensor, docs: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(self.encode_query(query).unsqueeze(1), self.encode_doc(docs), dim=-1)
