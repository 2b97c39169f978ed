"""DeepWalk: online learning of social representations (Perozzi et al., KDD 2014), on the item graph of the
user-item interactions.

Sentences are truncated random walks over items: from item i go to a random user who has i, then to a random
item of that user (one step of the bipartite user-item graph, user nodes left out of the sentence). Every epoch
starts walks_per_node walks of walk_length items from each item that has users, then trains skip-gram with
negative sampling on them exactly as `word2vec` does (the paper used hierarchical softmax; negative sampling is
the common substitute). Paper defaults: window 10, walk length 40, d 128, 80 walks per node (here 80 epochs x 1).
"""

from __future__ import annotations

import numpy as np

from recstack.data.interactions import InteractionData, UserItems
from recstack.models.base import register
from recstack.models.recall.word2vec import Word2Vec, Word2VecParams


class DeepWalkParams(Word2VecParams):
    sparse_feature_dim: int = 128
    window: int = 10
    walk_length: int = 40
    walks_per_node: int = 1  # per epoch
    subsample: float = 0.0  # DeepWalk does not subsample


def random_step(indptr: np.ndarray, targets: np.ndarray, nodes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random neighbour of each node, the graph as CSR (node n's neighbours:
    targets[indptr[n]:indptr[n + 1]]; every node given has at least one)."""
    degree = indptr[nodes + 1] - indptr[nodes]
    return targets[indptr[nodes] + (rng.random(len(nodes)) * degree).astype(np.int64)]


def item_walks(data: InteractionData, walks_per_node: int, length: int, rng: np.random.Generator) -> UserItems:
    """walks_per_node walks of `length` items from every item with users, item -> user -> item steps."""
    train = data.train
    order = np.argsort(train.items, kind="stable")  # the item -> users side of the graph
    item_indptr = np.zeros(data.num_items + 2, np.int64)
    np.cumsum(np.bincount(train.items, minlength=data.num_items + 1), out=item_indptr[1:])
    item_users = train.row_users()[order]
    starts = np.flatnonzero(np.diff(item_indptr) > 0)
    walk = [rng.permutation(np.repeat(starts, walks_per_node))]
    for _ in range(length - 1):
        users = random_step(item_indptr, item_users, walk[-1], rng)
        walk.append(random_step(train.indptr, train.items, users, rng))
    walks = np.stack(walk, 1)  # [W, length]
    return UserItems(np.arange(0, walks.size + 1, length, dtype=np.int64), walks.reshape(-1))


@register("deepwalk", DeepWalkParams)
class DeepWalk(Word2Vec):
    def sentences(self, data: InteractionData, rng: np.random.Generator) -> UserItems:
        return item_walks(data, self.params.walks_per_node, self.params.walk_length, rng)
