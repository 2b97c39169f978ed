"""Text layers: padding never changes an encoding."""

from __future__ import annotations

import torch

from recstack.layers.text import ConvMaxPool, TextEncoder, TokenEmbedding


def test_conv_max_pool_ignores_any_amount_of_padding():
    torch.manual_seed(0)
    table = TokenEmbedding(20, 6)
    pool = ConvMaxPool(6, channels=4, windows=[1, 2, 3], activation="tanh")
    with torch.no_grad():  # real windows score below tanh(3), an all-padding window exactly tanh(3)
        table.weight.abs_()
        for conv in pool.convolutions:
            conv.weight.copy_(-conv.weight.abs() - 0.1)
            conv.bias.fill_(3.0)
    text = torch.tensor([[5, 9, 2]])
    short = torch.cat([text, torch.zeros(1, 2, dtype=torch.long)], 1)
    long = torch.cat([text, torch.zeros(1, 9, dtype=torch.long)], 1)
    encode = lambda ids: pool(table(ids), ids != 0)  # noqa: E731
    assert torch.allclose(encode(short), encode(long))
    assert (encode(long) < torch.tanh(torch.tensor(3.0)) - 1e-3).all()
    assert encode(torch.tensor([[7]])).shape == (1, 12)  # shorter than the widest window


def test_bow_encoder_sums_word_vectors_and_padding_is_zero():
    table = TokenEmbedding(10, 3)
    encoder = TextEncoder(table, "bow")
    ids = torch.tensor([[[1, 4, 0, 0]], [[4, 1, 1, 0]]])  # [B, views, L]
    expected = torch.stack([table.weight[1] + table.weight[4], table.weight[4] + 2 * table.weight[1]])
    assert torch.allclose(encoder(ids)[:, 0], expected)
    assert torch.equal(table.weight[0], torch.zeros(3))
