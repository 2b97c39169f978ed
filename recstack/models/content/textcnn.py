"""TextCNN (Kim, "Convolutional Neural Networks for Sentence Classification", EMNLP 2014).

Word vectors [B, L, emb_dim] -> for every window width in cnn_filter_sizes, cnn_dim convolution filters, ReLU,
max over positions -> concatenation [B, cnn_dim * len(cnn_filter_sizes)] -> dropout -> a hidden ReLU layer of
hid_dim (PaddleRec's variant; 0 = none, as in the paper) -> class logits [B, C]. Cross-entropy loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recstack.layers.text import ConvMaxPool
from recstack.models.base import register
from recstack.models.content.base import ContentParams, TextClassifier, TextSchema


class TextCNNParams(ContentParams):
    cnn_dim: int = 128
    cnn_filter_sizes: list[int] = [1, 2, 3]
    hid_dim: int = 96
    dropout: float = 0.5


@register("textcnn", TextCNNParams)
class TextCNN(TextClassifier):
    def __init__(self, schema: TextSchema, params: TextCNNParams):
        super().__init__(schema, params)
        self.words = self.word_table(params.emb_dim)
        self.convolutions = ConvMaxPool(params.emb_dim, params.cnn_dim, params.cnn_filter_sizes, "relu")
        width = self.convolutions.output_dim
        hidden = [nn.Linear(width, params.hid_dim), nn.ReLU()] if params.hid_dim else []
        self.classify = nn.Sequential(nn.Dropout(params.dropout), *hidden,
                                      nn.Linear(params.hid_dim or width, params.num_classes(schema)))

    def class_scores(self, text: torch.Tensor) -> torch.Tensor:
        return self.classify(self.convolutions(self.words(text), text != 0))

    def loss(self, text: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.class_scores(text), labels)
