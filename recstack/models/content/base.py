"""The contract of the text models (content and matching) and of the content models in particular.

A text model is built from `(TextSchema, params)`: the schema says how many word ids there are (id 0 is
padding) and, for classifiers, how many classes; the recipe (`recstack/train/text.py`) takes both from the
data. A content model maps a text to one score per class:

    class_scores(text [B, L]) -> [B, C]      higher = more likely; argmax is the prediction
    loss(text [B, L], labels [B]) -> scalar
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
from torch import nn

from recstack.config import HyperParameters
from recstack.errors import ConfigError
from recstack.layers.text import TokenEmbedding


@dataclass(frozen=True)
class TextSchema:
    vocab_size: int  # word ids 0..vocab_size-1; 0 is padding
    num_classes: int = 0  # content models: class ids 0..num_classes-1
    query_views: int = 1  # matching models: id rows per query / per document (MultiView-SimNet's slots)
    doc_views: int = 1
    text_len: int = 0  # words per text (content) / per query and document view (matching) the model was
    query_len: int = 0  # trained on; the recipe pads or cuts every split to these
    doc_len: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "TextSchema":
        return cls(**json.loads(text))


class TextParams(HyperParameters):
    vocab_size: int | None = None  # word-table rows; default: the largest id in the data + 1

    def table_rows(self, schema: TextSchema) -> int:
        if self.vocab_size is not None and self.vocab_size < schema.vocab_size:
            raise ConfigError(f"hyper_parameters.vocab_size ({self.vocab_size}) is smaller than the data needs "
                              f"({schema.vocab_size}: the largest word id + 2)")
        return self.vocab_size or schema.vocab_size


class TextModel(nn.Module):
    """Shared base: keeps schema and params, and a name the registry sets."""

    registered_name = ""

    def __init__(self, schema: TextSchema, params: TextParams):
        super().__init__()
        self.schema, self.params = schema, params

    def word_table(self, dim: int) -> TokenEmbedding:
        """The model's word vectors: table_rows x dim, row 0 padding, sparse gradients as the optimizer says."""
        return TokenEmbedding(self.params.table_rows(self.schema), dim, self.params.optimizer.sparse)


class ContentParams(TextParams):
    max_len: int = 100  # words read per text (PaddleRec TextCNN's max_len, TagSpace's text_len)
    emb_dim: int = 128
    class_dim: int | None = None  # classes scored; default: the largest class id in the data + 1

    def num_classes(self, schema: TextSchema) -> int:
        if self.class_dim is not None and self.class_dim < schema.num_classes:
            raise ConfigError(f"hyper_parameters.class_dim ({self.class_dim}) is smaller than the data needs "
                              f"({schema.num_classes}: the largest class id + 1)")
        return self.class_dim or schema.num_classes


class TextClassifier(TextModel):
    def __init__(self, schema: TextSchema, params: ContentParams):
        super().__init__(schema, params)
        if schema.num_classes < 2:
            raise ConfigError(f"{self.registered_name}: the training data has {schema.num_classes} class(es); "
                              f"a classifier needs at least 2")

    def class_scores(self, text: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, text: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
