"""Item2vec-style word2vec: skip-gram with negative sampling over item sequences (Mikolov et al., NIPS 2013;
on items: Barkan & Koenigstein, 2016).

Every user's training items are a sentence. Frequent items are dropped from it with probability
1 - (sqrt(f / t) + 1) t / f (f: the item's share of all interactions, t = subsample, word2vec's C formula); each
remaining item is the centre of a window of up to `window` items on each side (offset o is used with probability
(window - o + 1) / window, word2vec's random window size), and each (centre, context) pair is scored against
num_negatives items drawn from the unigram distribution to the 3/4 power:
    loss = -log s(v_c . u_o) - sum over negatives n of log s(-v_c . u_n)
with input vectors v and output vectors u [N + 1, d]. The user is the mean of the v of all their items (or of
their last `user_history`, for next-item data) and the item embedding is u, so score(user, i) = mean over the
user's items j of v_j . u_i, the model's own estimate of i appearing in j's context (a shifted PMI, Levy &
Goldberg 2014). On ML-1M this ranks far better than the cosine of input vectors (Recall@20 0.106 vs 0.031,
docs/recall_classical.md). Batches: sparse [B, 2] = (centre item, context item). DeepWalk reuses all of this
with random walks as the sentences (`sentences`).
"""

from __future__ import annotations

from typing import ClassVar, Iterator

import numpy as np
import torch
from torch import nn

from recstack.config import OptimizerConfig
from recstack.data.batch import Batch
from recstack.data.interactions import InteractionData, InteractionSchema, UserItems
from recstack.models.base import register
from recstack.models.recall import losses
from recstack.models.recall.base import RecallModel, RecallParams


class Word2VecParams(RecallParams):
    sparse_feature_dim: int = 100  # word2vec's default size
    window: int = 5
    num_negatives: int = 5
    subsample: float = 1e-3  # t
    user_history: int = 0  # the user is the mean over their last this many items (0: all of them)
    optimizer: OptimizerConfig = OptimizerConfig(learning_rate=0.005)


def skipgram_pairs(sentences: UserItems, keep: np.ndarray, window: int, rng: np.random.Generator) -> np.ndarray:
    """[P, 2] (centre, context) pairs of the sentences, after dropping items by their keep probability."""
    kept = rng.random(len(sentences.items)) < keep[sentences.items]
    tokens, owner = sentences.items[kept], sentences.row_users()[kept]
    pairs = []
    for offset in range(1, window + 1):
        same = owner[offset:] == owner[:-offset]
        used = same & (rng.random(len(same)) < (window - offset + 1) / window)
        left, right = tokens[:-offset][used], tokens[offset:][used]
        pairs += [np.stack([left, right], 1), np.stack([right, left], 1)]
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


@register("word2vec", Word2VecParams)
class Word2Vec(RecallModel):
    reads_full_history: ClassVar[bool] = True

    def __init__(self, schema: InteractionSchema, params: Word2VecParams):
        super().__init__(schema, params)
        dim = params.sparse_feature_dim
        self.items = nn.Embedding(schema.num_items + 1, dim, padding_idx=0, sparse=self.sparse_grad)
        self.contexts = nn.Embedding(schema.num_items + 1, dim, sparse=self.sparse_grad)
        nn.init.uniform_(self.items.weight[1:], -0.5 / dim, 0.5 / dim)  # word2vec's initialisation
        nn.init.zeros_(self.contexts.weight)
        self.register_buffer("noise", torch.ones(schema.num_items + 1))
        self.keep = np.ones(schema.num_items + 1)  # probability of keeping each item in a sentence (observe)

    def observe(self, data: InteractionData) -> None:
        super().observe(data)
        counts = torch.from_numpy(data.item_counts()).double()
        self.noise.copy_((counts ** 0.75).float())
        share = (counts / counts.sum()).clamp(min=1e-12).numpy()
        t = self.params.subsample
        self.keep = np.minimum(1.0, (np.sqrt(share / t) + 1) * t / share) if t > 0 else np.ones_like(share)

    def sentences(self, data: InteractionData, rng: np.random.Generator) -> UserItems:
        """The item sequences skip-gram reads: here each user's training items."""
        return data.train

    def training_batches(self, data: InteractionData, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
        pairs = skipgram_pairs(self.sentences(data, rng), self.keep, self.params.window, rng)
        pairs = torch.from_numpy(pairs[rng.permutation(len(pairs))])
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            yield Batch(dense=torch.zeros(len(chunk), 0), sparse=chunk)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        negatives = torch.multinomial(self.noise, batch.sparse.shape[0] * self.params.num_negatives, True)
        return {"centre": self.items(batch.sparse[:, 0]), "context": self.contexts(batch.sparse[:, 1]),
                "negatives": self.contexts(negatives.view(-1, self.params.num_negatives))}

    def loss(self, outputs: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        centre = outputs["centre"]
        return losses.binary_cross_entropy((centre * outputs["context"]).sum(-1),
                                           (centre.unsqueeze(1) * outputs["negatives"]).sum(-1))

    def user_embedding(self, batch: Batch) -> torch.Tensor:
        # a bag, not items(history).mean(1): histories are full length here, [B, L, d] would be gigabytes
        history = batch.sequences["history"]  # left-padded, latest item last
        if self.params.user_history > 0:
            history = history[:, -self.params.user_history:]
        return nn.functional.embedding_bag(history, self.items.weight, mode="mean", padding_idx=0)

    def item_embedding(self, item_ids: torch.Tensor) -> torch.Tensor:
        return self.contexts(item_ids)
