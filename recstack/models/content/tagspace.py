"""TagSpace (Weston, Chopra and Adams, "#TagSpace: Semantic Embeddings from Hashtags", EMNLP 2014).

Text and tags live in one emb_dim space. The text side: word vectors [B, L, emb_dim] -> a convolution over
windows of win_size words with hid_dim filters, tanh, max over positions -> a linear map to emb_dim. Each tag
(class) has its own vector; a tag's score is the cosine between the text vector and the tag vector, so
recommending tags is a nearest-neighbour lookup. Training is pairwise: the text's tag must beat `neg_size`
uniformly sampled other tags by `margin` (hinge loss, as PaddleRec trains it).

text [B, L] -> [B, emb_dim]; class_scores [B, C] = cosines with every tag.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recstack.layers.text import ConvMaxPool
from recstack.models.base import register
from recstack.models.content.base import ContentParams, TextClassifier, TextSchema
from recstack.models.match.base import hinge


class TagSpaceParams(ContentParams):
    emb_dim: int = 10
    hid_dim: int = 1000
    win_size: int = 5
    margin: float = 0.1
    neg_size: int = 3


@register("tagspace", TagSpaceParams)
class TagSpace(TextClassifier):
    def __init__(self, schema: TextSchema, params: TagSpaceParams):
        super().__init__(schema, params)
        self.words = self.word_table(params.emb_dim)
        self.convolution = ConvMaxPool(params.emb_dim, params.hid_dim, [params.win_size], "tanh")
        self.to_tag_space = nn.Linear(params.hid_dim, params.emb_dim)
        self.tags = nn.Embedding(params.num_classes(schema), params.emb_dim)

    def text_vector(self, text: torch.Tensor) -> torch.Tensor:
        return self.to_tag_space(self.convolution(self.words(text), text != 0))

    def class_scores(self, text: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(self.text_vector(text).unsqueeze(1), self.tags.weight, dim=-1)

    def loss(self, text: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        num_tags = self.tags.num_embeddings
        negatives = torch.randint(0, num_tags - 1, (len(labels), self.params.neg_size), device=labels.device)
        negatives = negatives + (negatives >= labels[:, None]).long()  # uniform over the other tags
        vector = self.text_vector(text).unsqueeze(1)
        positive = F.cosine_similarity(vector, self.tags(labels).unsqueeze(1), dim=-1)
        return hinge(positive, F.cosine_similarity(vector, self.tags(negatives), dim=-1), self.params.margin)
