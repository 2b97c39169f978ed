"""L0-SIGN (Su, Zhang, Erfani and Xu, "Detecting Beneficial Feature Interactions for Recommender Systems",
AAAI 2021).

Each sample is a graph whose nodes are its features. An edge predictor scores every field pair from the two
features' edge embeddings, MLP(v_i * v_j) -> log alpha_ij, and a hard-concrete gate (L0 regularisation,
Louizos et al., ICLR 2018) turns it into z_ij in [0, 1], exactly 0 for a dropped edge; the expected number
of kept edges, times l0_weight, joins the loss. SIGN then models every kept interaction,
m_ij = z_ij * MLP(u_i * u_j); each node is updated with the mean message of its kept edges,
u_i' = u_i + mean_j m_ij, the graph is the mean of its nodes, and a linear readout gives the logit.
The update keeps u_i, as the paper's psi(u_i, aggregate) does; the reference implementation passes only the
aggregate on, which leaves single features no path to the logit (it trailed the oracle by 0.06 AUC here). Node and edge embeddings are separate, as in the reference
implementation. All pairs are handled at once with index tensors and index_add (no loop over pairs).
Dense features are nodes too (value-scaled vectors).
Shapes: sparse [B, F], dense [B, D] -> nodes [B, N = F + D, dim] -> gates [B, P], messages [B, P, dim]
(P = N(N-1)/2) -> nodes [B, N, dim] -> graph [B, dim] -> logit [B].
"""

from __future__ import annotations

import math

import torch
from torch import nn

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.layers import FieldEmbedding
from recstack.models.base import SingleTaskModel, register


class SIGNParams(HyperParameters):
    hidden_size: int = 32  # the edge predictor's and the interaction MLP's hidden layer
    node_init_std: float = 1.0  # the reference implementation's N(0, 1) node vectors
    l0_weight: float = 0.001  # weight of the expected number of kept edges (per pair, batch mean) in the loss
    temperature: float = 2 / 3  # hard-concrete beta, gamma, zeta (Louizos et al.)
    stretch: tuple[float, float] = (-0.1, 1.1)


class HardConcreteEdges(nn.Module):
    """Edge predictor with L0 gates: pair embeddings [B, P, dim] -> z [B, P] in [0, 1] (sampled in training,
    the expected gate in eval). `penalty` holds the L0 term of the last training forward for Model.loss."""

    def __init__(self, dim: int, hidden_size: int, l0_weight: float, temperature: float, stretch: tuple[float, float]):
        super().__init__()
        self.scorer = nn.Sequential(nn.Linear(dim, hidden_size), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden_size, 1))
        with torch.no_grad():
            self.scorer[-1].weight.add_(0.2)  # start with edges open, as the reference implementation does
        self.l0_weight, self.temperature, (self.low, self.high) = l0_weight, temperature, stretch
        self.penalty: torch.Tensor | None = None

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        log_alpha = self.scorer(pairs).squeeze(-1)
        if self.training:
            noise = torch.rand_like(log_alpha).clamp(1e-6, 1 - 1e-6)
            keep = torch.sigmoid((log_alpha + noise.log() - (1 - noise).log()) / self.temperature)
            open_probability = torch.sigmoid(log_alpha - self.temperature * math.log(-self.low / self.high))
            self.penalty = self.l0_weight * open_probability.mean()
        else:
            keep = torch.sigmoid(log_alpha)
        return (keep * (self.high - self.low) + self.low).clamp(0.0, 1.0)


@register("sign", SIGNParams)
class SIGN(SingleTaskModel):
    def __init__(self, schema, params: SIGNParams):
        super().__init__(schema, params)
        # The reference implementation's initialisations: node vectors N(0, 1), edge vectors N(0.2, 0.01), so
        # neither the products nor their gradients start near zero. Hashed data full of rare features wants
        # small node vectors instead (configs/rank/sign.yaml): an unseen feature's vector is pure noise.
        self.node_embeddings = FieldEmbedding(schema, params.sparse_feature_dim, embed_dense=True,
                                              sparse_grad=self.sparse_grad, l2=self.embedding_l2,
                                              init_std=params.node_init_std)
        self.edge_embeddings = FieldEmbedding(schema, params.sparse_feature_dim, embed_dense=True,
                                              sparse_grad=self.sparse_grad, l2=self.embedding_l2)
        with torch.no_grad():
            for vectors in self.edge_embeddings.parameters():
                vectors.add_(0.2)
        num_nodes, dim = self.node_embeddings.num_fields, self.node_embeddings.dim
        rows, cols = torch.triu_indices(num_nodes, num_nodes, offset=1)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)
        self.edges = HardConcreteEdges(dim, params.hidden_size, params.l0_weight, params.temperature, params.stretch)
        self.interaction = nn.Sequential(nn.Linear(dim, params.hidden_size), nn.ReLU(),
                                         nn.Linear(params.hidden_size, dim))
        self.readout = nn.Linear(dim, 1)

    def propagate(self, nodes: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Each node's mean message over its kept edges (both ends of an undirected edge receive it):
        nodes [B, N, dim], gates [B, P] -> [B, N, dim]."""
        messages = self.interaction(nodes[:, self.rows] * nodes[:, self.cols]) * gates.unsqueeze(-1)
        kept = (gates > 0).to(messages.dtype)
        summed = torch.zeros_like(nodes).index_add(1, self.rows, messages).index_add(1, self.cols, messages)
        counts = kept.new_zeros(nodes.shape[:2]).index_add(1, self.rows, kept).index_add(1, self.cols, kept)
        return summed / counts.clamp_min(1.0).unsqueeze(-1)

    def logit(self, batch: Batch) -> torch.Tensor:
        edge_vectors = self.edge_embeddings(batch)
        gates = self.edges(edge_vectors[:, self.rows] * edge_vectors[:, self.cols])
        nodes = self.node_embeddings(batch)
        updated = nodes + self.propagate(nodes, gates)
        return self.readout(updated.mean(dim=1)).squeeze(-1)
