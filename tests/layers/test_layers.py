import pytest
import torch
from torch import nn

from recstack.data.batch import Batch
from recstack.data.schema import FeatureSchema, SparseSlot
from recstack.layers import MLP, FeatureLinear, FieldEmbedding, FMInteraction, pool_bag

B, DIM, ROWS = 5, 4, 50


def schema(num_single=3, bags=(), num_dense=2) -> FeatureSchema:
    slots = tuple(SparseSlot(f"s{i}") for i in range(num_single)) + tuple(SparseSlot(n, m) for n, m in bags)
    return FeatureSchema(sparse=slots, num_dense=num_dense, num_embeddings=ROWS)


def batch(s: FeatureSchema, sequences: dict[str, torch.Tensor] | None = None, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(dense=torch.rand(B, s.num_dense, generator=g),
                 sparse=torch.randint(1, ROWS, (B, len(s.single_slots)), generator=g),
                 sequences=sequences or {}, labels={"click": torch.randint(0, 2, (B,), generator=g).float()})


BAG = torch.tensor([[3, 7, 0, 0], [0, 0, 0, 0], [5, 5, 9, 0], [11, 0, 12, 13], [1, 2, 3, 4]])


# ---------------------------------------------------------------- FM


def test_fm_equals_double_loop_over_field_pairs():
    torch.manual_seed(0)
    fields = torch.randn(6, 7, 5, dtype=torch.float64)
    expected = torch.zeros(6, dtype=torch.float64)
    for b in range(6):
        for i in range(7):
            for j in range(i + 1, 7):
                expected[b] += (fields[b, i] * fields[b, j]).sum()
    torch.testing.assert_close(FMInteraction()(fields), expected)


def test_fm_single_field_is_zero_and_hand_example():
    assert FMInteraction()(torch.randn(3, 1, 4)).abs().max() < 1e-6
    fields = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [0.5, -1.0]]])  # 11 + (0.5 - 2) + (1.5 - 4) = 7
    torch.testing.assert_close(FMInteraction()(fields), torch.tensor([7.0]))


# ---------------------------------------------------------------- FieldEmbedding


def test_field_embedding_single_slots():
    s = schema(num_single=3, num_dense=2)
    layer = FieldEmbedding(s, DIM)
    b = batch(s)
    out = layer(b)
    assert out.shape == (B, 3, DIM) and layer.num_fields == 3 and layer.dim == DIM
    torch.testing.assert_close(out, layer.table.weight[b.sparse])


@pytest.mark.parametrize("pooling", ["sum", "mean"])
def test_field_embedding_multi_valued_slot(pooling):
    s = schema(num_single=2, bags=(("tags", 4),), num_dense=0)
    layer = FieldEmbedding(s, DIM, pooling=pooling)
    with torch.no_grad():
        layer.table.weight[0] = 100.0  # the padding row must never show up
    b = batch(s, {"tags": BAG})
    out = layer(b)
    assert out.shape == (B, 3, DIM) and layer.num_fields == 3
    torch.testing.assert_close(out[:, :2], layer.table.weight[b.sparse])
    w = layer.table.weight
    expected = torch.stack([w[[3, 7]].sum(0), torch.zeros(DIM), w[[5, 5, 9]].sum(0), w[[11, 12, 13]].sum(0),
                            w[[1, 2, 3, 4]].sum(0)])
    if pooling == "mean":
        expected = expected / torch.tensor([2.0, 1.0, 3.0, 3.0, 4.0]).unsqueeze(1)
    torch.testing.assert_close(out[:, 2], expected)


def test_pool_bag_ignores_padding_gradient():
    table = nn.Embedding(ROWS, DIM)
    pool_bag(table, BAG).sum().backward()
    assert table.weight.grad[0].abs().sum() == 0
    assert torch.all(table.weight.grad[5] == 2.0)  # id 5 appears twice in one bag


def test_field_embedding_embed_dense_scales_vectors():
    s = schema(num_single=2, bags=(("tags", 4),), num_dense=3)
    layer = FieldEmbedding(s, DIM, embed_dense=True)
    b = batch(s, {"tags": BAG})
    out = layer(b)
    assert out.shape == (B, 2 + 1 + 3, DIM) and layer.num_fields == 6
    for d in range(3):
        torch.testing.assert_close(out[:, 3 + d], b.dense[:, d:d + 1] * layer.dense_vectors[d])
    b.dense[:, 1] = 0.0
    assert layer(b)[:, 4].abs().max() == 0


def test_field_embedding_embed_dense_without_dense_features():
    s = schema(num_single=2, num_dense=0)
    layer = FieldEmbedding(s, DIM, embed_dense=True)
    assert layer.dense_vectors is None and layer.num_fields == 2
    assert layer(batch(s)).shape == (B, 2, DIM)


def test_field_embedding_only_bags():
    s = schema(num_single=0, bags=(("tags", 4),), num_dense=0)
    assert FieldEmbedding(s, DIM)(batch(s, {"tags": BAG})).shape == (B, 1, DIM)


def test_field_embedding_sparse_grad():
    s = schema()
    layer = FieldEmbedding(s, DIM, sparse_grad=True)
    layer(batch(s)).sum().backward()
    assert layer.table.weight.grad.is_sparse


# ---------------------------------------------------------------- FeatureLinear


def test_feature_linear_equals_hand_computation():
    s = schema(num_single=3, bags=(("tags", 4),), num_dense=2)
    layer = FeatureLinear(s)
    torch.manual_seed(1)
    with torch.no_grad():
        layer.weights.weight.normal_()
        layer.weights.weight[0] = 50.0  # padding
        layer.dense.weight.copy_(torch.tensor([[0.5, -2.0]]))
        layer.dense.bias.fill_(0.25)
        layer.bias.fill_(-1.0)
    b = batch(s, {"tags": BAG})
    w = layer.weights.weight.squeeze(1)
    expected = torch.empty(B)
    for i in range(B):
        value = -1.0 + 0.25 + 0.5 * b.dense[i, 0] - 2.0 * b.dense[i, 1]
        value = value + sum(w[j] for j in b.sparse[i])
        value = value + sum(w[j] for j in BAG[i] if j != 0)
        expected[i] = value
    out = layer(b)
    assert out.shape == (B,)
    torch.testing.assert_close(out, expected)


def test_feature_linear_starts_at_zero_and_without_dense():
    s = schema(num_single=2, num_dense=0)
    layer = FeatureLinear(s)
    assert layer.dense is None
    torch.testing.assert_close(layer(batch(s)), torch.zeros(B))


# ---------------------------------------------------------------- L2 penalty


@pytest.mark.parametrize("make", [lambda s, l2: FieldEmbedding(s, DIM, l2=l2), lambda s, l2: FeatureLinear(s, l2=l2)])
def test_l2_penalty_only_in_training_and_only_when_positive(make):
    s = schema(num_single=3, num_dense=2)
    b = batch(s)

    layer = make(s, 0.0).train()
    layer(b)
    assert layer.penalty is None

    layer = make(s, 0.1).eval()
    layer(b)
    assert layer.penalty is None

    layer = make(s, 0.1).train()
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_()
    layer(b)
    table = layer.table if isinstance(layer, FieldEmbedding) else layer.weights
    rows = table.weight[b.sparse]
    torch.testing.assert_close(layer.penalty, 0.1 * rows.pow(2).sum() / B)
    assert layer.penalty.requires_grad


@pytest.mark.parametrize("make", [lambda s: FieldEmbedding(s, DIM, l2=0.5, pooling="mean"),
                                  lambda s: FeatureLinear(s, l2=0.5)])
def test_l2_penalty_counts_each_bag_row_not_the_pooled_vector(make):
    s = schema(num_single=2, bags=(("tags", 4),), num_dense=0)
    layer = make(s).train()
    table = layer.table if isinstance(layer, FieldEmbedding) else layer.weights
    with torch.no_grad():
        table.weight.normal_()
        table.weight[0] = 100.0  # padding rows carry no penalty
    b = batch(s, {"tags": BAG})
    layer(b)
    w2 = table.weight.pow(2).sum(-1)
    bag_rows = BAG[BAG != 0]
    torch.testing.assert_close(layer.penalty, 0.5 * (w2[b.sparse].sum() + w2[bag_rows].sum()) / B)


def test_l2_penalty_does_not_include_dense_vectors():
    s = schema(num_single=2, num_dense=3)
    layer = FieldEmbedding(s, DIM, embed_dense=True, l2=1.0).train()
    with torch.no_grad():
        layer.dense_vectors.fill_(10.0)
    b = batch(s)
    layer(b)
    torch.testing.assert_close(layer.penalty, layer.table.weight[b.sparse].pow(2).sum() / B)


# ---------------------------------------------------------------- MLP


def kinds(mlp: MLP) -> list[type]:
    return [type(m) for m in mlp]


def test_mlp_plain():
    mlp = MLP(8, [16, 4])
    assert kinds(mlp) == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]
    assert mlp.output_dim == 4
    out = mlp(torch.randn(B, 8))
    assert out.shape == (B, 4) and (out >= 0).all()


def test_mlp_output_dim_has_no_activation():
    mlp = MLP(8, [16, 4], output_dim=1)
    assert kinds(mlp) == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert mlp.output_dim == 1 and mlp[-1].in_features == 4
    torch.manual_seed(0)
    assert mlp(torch.randn(64, 8)).shape == (64, 1)


def test_mlp_batch_norm_and_dropout():
    mlp = MLP(8, [16, 4], output_dim=2, dropout=0.3, batch_norm=True)
    assert kinds(mlp) == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout] * 2 + [nn.Linear]
    assert sum(isinstance(m, nn.Linear) for m in mlp) == 3
    assert mlp[3].p == pytest.approx(0.3) and mlp[1].num_features == 16
    assert mlp(torch.randn(B, 8)).shape == (B, 2)
    mlp.eval()
    x = torch.randn(B, 8)
    torch.testing.assert_close(mlp(x), mlp(x))  # no dropout noise in eval


def test_mlp_no_hidden_layers():
    assert kinds(MLP(8, [], output_dim=3)) == [nn.Linear]
    identity = MLP(8, [])
    assert len(identity) == 0 and identity.output_dim == 8


def test_mlp_eval_folds_batchnorm_without_changing_outputs():
    torch.manual_seed(0)
    mlp = MLP(12, [16, 8], output_dim=1, batch_norm=True)
    for _ in range(5):  # give the running statistics something other than their initial values
        mlp(torch.randn(64, 12) * 3 + 1)
    for norm in (m for m in mlp.modules() if isinstance(m, torch.nn.BatchNorm1d)):
        torch.nn.init.uniform_(norm.weight, 0.5, 2.0)
        torch.nn.init.uniform_(norm.bias, -1.0, 1.0)
    mlp.eval()
    inputs = torch.randn(32, 12)
    layer_by_layer = torch.nn.Sequential(*mlp)(inputs)
    torch.testing.assert_close(mlp(inputs), layer_by_layer, rtol=1e-5, atol=1e-5)
