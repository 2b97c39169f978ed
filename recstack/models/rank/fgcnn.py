"""FGCNN (Liu, Tang, Chen, Yu, Guo and Zhang, "Feature Generation by Convolutional Neural Network for
Click-Through Rate Prediction", WWW 2019).

Feature generation: convolution + max-pooling along the fields, and after each layer a recombination (fully
connected + tanh) that emits new feature vectors (recstack.layers.convolution.FeatureGeneration). The deep
classifier is IPNN over raw + new features: the MLP reads [all feature vectors flat ++ <f_i, f_j> for every
pair i < j] (read off the Gram matrix by DotInteraction: far cheaper, forward and backward, than
gathering every pair's two vectors). By default the generator learns its own embeddings
(the paper found sharing them hurts). Dense features are embedded as value-scaled fields.
Its configs set runner.precise_bn_batches: the MLP input (small embeddings beside inner products of tanh
features) leaves BatchNorm's running statistics far off, and validation AUC collapsed without it.
Shapes: sparse [B, F], dense [B, D] -> fields [B, N = F + D, dim] -> new [B, N', dim] -> all [B, T = N + N', dim]
-> [B, T dim + T(T-1)/2] -> MLP -> logit [B].
"""

from __future__ import annotations

import torch

from recstack.config import HyperParameters
from recstack.data.batch import Batch
from recstack.errors import ConfigError
from recstack.layers.convolution import FeatureGeneration
from recstack.layers.product import DotInteraction
from recstack.models.base import SingleTaskModel, register


class FGCNNParams(HyperParameters):
    # The paper's Criteo setting: kernel 9x1, 38-44 channels, pooling 2x1, 3 recombined maps per layer.
    conv_channels: list[int] = [38, 40, 42, 44]
    conv_kernel_heights: list[int] = [9, 9, 9, 9]
    pooling_heights: list[int] = [2, 2, 2, 2]
    recombined_channels: list[int] = [3, 3, 3, 3]
    share_embedding: bool = False


@register("fgcnn", FGCNNParams)
class FGCNN(SingleTaskModel):
    def __init__(self, schema, params: FGCNNParams):
        super().__init__(schema, params)
        layers = {len(params.conv_channels), len(params.conv_kernel_heights), len(params.pooling_heights),
                  len(params.recombined_channels)}
        if len(layers) != 1:
            raise ConfigError("hyper_parameters.conv_channels, conv_kernel_heights, pooling_heights and "
                              "recombined_channels need one entry per convolution layer each")
        self.field_embeddings = self.field_embedding(embed_dense=True)
        self.generator_embeddings = None if params.share_embedding else self.field_embedding(embed_dense=True)
        num_fields, dim = self.field_embeddings.num_fields, self.field_embeddings.dim
        self.generation = FeatureGeneration(num_fields, dim, params.conv_channels, params.conv_kernel_heights,
                                            params.pooling_heights, params.recombined_channels)
        total = num_fields + self.generation.num_new_fields
        self.inner_products = DotInteraction(total)
        self.mlp = self.build_mlp(total * dim + self.inner_products.output_dim)

    def logit(self, batch: Batch) -> torch.Tensor:
        raw = self.field_embeddings(batch)
        source = raw if self.generator_embeddings is None else self.generator_embeddings(batch)
        features = torch.cat([raw, self.generation(source)], dim=1)
        return self.mlp(torch.cat([features.flatten(start_dim=1), self.inner_products(features)], dim=1)).squeeze(-1)
