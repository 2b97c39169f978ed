"""FM-family and textbook rank models: ffm, nfm, deepfefm, flen, afn / afn_plus, fgcnn, autofis, sign, als_mlp,
neighbor_mlp, cnn_predictor; their layers against closed forms; AutoFIS's two stages end to end."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from recstack.config import load_config
from recstack.errors import ConfigError
from recstack.layers.convolution import FeatureGeneration, FieldConvPool
from recstack.layers.field_aware import FieldAwareEmbedding, FieldAwarePairs
from recstack.layers.logarithmic import LogarithmicTransform
from recstack.layers.towers import UserItemSplit, field_group_membership, field_positions, user_item_slots
from recstack.models.rank.autofis import GRDA
from recstack.models.rank.nfm import bi_interaction
from recstack.train.recipes import infer, train
from helpers.rank_models import assert_loss_reaches_every_parameter, CARDINALITIES, tiny_batch, tiny_model, tiny_schema

MODELS = ["ffm", "nfm", "deepfefm", "flen", "afn", "afn_plus", "fgcnn", "autofis", "sign", "als_mlp", "neighbor_mlp",
          "cnn_predictor"]
# Non-default structures worth building too.
VARIANTS = [(name, {}) for name in MODELS] + [
    ("fgcnn", {"share_embedding": True}), ("flen", {"field_groups": [[0, 2], [1]]}),
    ("als_mlp", {"user_slots": ["b"], "item_slots": ["a", "c"]}), ("cnn_predictor", {"user_slots": ["c"]}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in hyper.items()) for name, hyper in VARIANTS]


def pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


@pytest.mark.parametrize("name, hyper", VARIANTS, ids=IDS)
@pytest.mark.parametrize("bag", [False, True])
def test_builds_and_returns_finite_click_logits(name, hyper, bag):
    schema = tiny_schema(bag=bag)
    model = tiny_model(name, schema, **hyper)
    for training in (True, False):
        outputs = model.train(training)(tiny_batch(schema))
        assert list(outputs) == ["click"]
        assert outputs["click"].shape == (8,) and torch.isfinite(outputs["click"]).all()


@pytest.mark.parametrize("name", [m for m in MODELS if m != "autofis"])
def test_loss_reaches_every_parameter(name):
    model = tiny_model(name, tiny_schema(bag=True))
    assert_loss_reaches_every_parameter(model, name)


# --- layers and models against their closed forms ----------------------------------------------------------

def test_field_aware_embedding_layout_and_pairs():
    schema = tiny_schema(bag=True)
    layer = FieldAwareEmbedding(schema, 3, embed_dense=True)
    batch = tiny_batch(schema)
    vectors = layer(batch)
    num_fields = 4 + 2
    assert layer.num_fields == num_fields and vectors.shape == (8, num_fields, num_fields, 3)
    rows = layer.table.weight.view(-1, num_fields, 3)
    torch.testing.assert_close(vectors[:, 1], rows[batch.sparse[:, 1]])  # slot b, against every field
    bag = batch.sequences["tags"]
    torch.testing.assert_close(vectors[:, 3], (rows[bag] * (bag != 0)[..., None, None]).sum(1))
    torch.testing.assert_close(vectors[:, 5], batch.dense[:, 1, None, None] * layer.dense_vectors.view(2, -1, 3)[1])
    products = FieldAwarePairs(num_fields)(vectors)
    expected = torch.stack([vectors[:, i, j] * vectors[:, j, i] for i, j in pairs(num_fields)], dim=1)
    torch.testing.assert_close(products, expected)


def test_ffm_logit_is_the_ffm_formula():
    model = tiny_model("ffm", tiny_schema(bag=True), field_aware_dim=3).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=0.3)
    batch = tiny_batch(model.schema)
    v = model.field_aware(batch)
    pairwise = sum((v[:, i, j] * v[:, j, i]).sum(-1) for i, j in pairs(v.shape[1]))
    torch.testing.assert_close(model.logit(batch), model.linear(batch) + pairwise)


def test_bi_interaction_is_the_sum_of_pairwise_products():
    fields = torch.randn(5, 4, 3)
    expected = sum(fields[:, i] * fields[:, j] for i, j in pairs(4))
    torch.testing.assert_close(bi_interaction(fields), expected)


def test_fefm_scores_use_a_symmetric_matrix_per_field_pair():
    model = tiny_model("deepfefm")
    fields = torch.randn(5, 3, 4)
    expected = torch.stack([fields[:, i] @ (model.pair_matrices[p] + model.pair_matrices[p].T) @ fields[:, j].T
                            for p, (i, j) in enumerate(pairs(3))], dim=1).diagonal(dim1=0, dim2=2).T
    torch.testing.assert_close(model.fefm_scores(fields), expected)
    swapped = torch.stack([fields[:, j] @ (model.pair_matrices[p] + model.pair_matrices[p].T) @ fields[:, i].T
                           for p, (i, j) in enumerate(pairs(3))], dim=1).diagonal(dim1=0, dim2=2).T
    torch.testing.assert_close(model.fefm_scores(fields), swapped)


def test_flen_field_wise_bi_interaction_by_hand():
    model = tiny_model("flen", tiny_schema(bag=True), field_groups=[[0, 1], [3], [2]])
    with torch.no_grad():
        model.mf_weights.copy_(torch.tensor([2.0, 3.0, 5.0]))
        model.fm_weights.copy_(torch.tensor([7.0, 11.0, 13.0]))
    e = torch.randn(5, 4, 4)
    groups = [e[:, 0] + e[:, 1], e[:, 3], e[:, 2]]  # slot 3 ("tags", a bag) is field row 3
    mf = 2 * groups[0] * groups[1] + 3 * groups[0] * groups[2] + 5 * groups[1] * groups[2]
    fm = 7 * e[:, 0] * e[:, 1]  # the only within-group pair
    torch.testing.assert_close(model.field_wise_bi_interaction(e), mf + fm)


def test_logarithmic_neurons_are_products_of_powers():
    layer = LogarithmicTransform(num_fields=3, num_neurons=4)
    layer.log_norm, layer.exp_norm = nn.Identity(), nn.Identity()  # the closed form without the BatchNorms
    fields = torch.randn(5, 3, 2)
    w = layer.orders.weight  # [4, 3]
    expected = torch.stack([(fields.abs() ** w[j][None, :, None]).prod(dim=1) for j in range(4)], dim=1)
    torch.testing.assert_close(layer(fields), expected, rtol=1e-4, atol=1e-6)
    zero = layer(torch.zeros(1, 3, 2))  # |0| is clamped before the log: finite
    assert torch.isfinite(zero).all()


def test_field_conv_pool_is_a_1d_convolution_along_the_fields():
    layer = FieldConvPool(num_fields=5, channels=[3, 2], kernel_heights=[3, 3], pool_heights=[2, 2])
    assert layer.field_counts == [3, 2]  # ceil(5 / 2), ceil(3 / 2)
    fields = torch.randn(4, 5, 6)
    maps = layer(fields)
    assert [m.shape for m in maps] == [(4, 3, 3, 6), (4, 2, 2, 6)]
    conv = layer.layers[0][0]
    columns = fields.transpose(1, 2).reshape(-1, 1, 5)  # every embedding column is one 1-D sequence
    by_column = torch.nn.functional.conv1d(columns, conv.weight.squeeze(-1), conv.bias, padding=1).tanh()
    pooled = torch.nn.functional.max_pool1d(by_column, 2, ceil_mode=True)  # [B * dim, C, 3]
    torch.testing.assert_close(maps[0], pooled.view(4, 6, 3, 3).permute(0, 2, 3, 1))


def test_feature_generation_recombines_every_layer_into_new_fields():
    layer = FeatureGeneration(num_fields=5, dim=4, channels=[3, 2], kernel_heights=[3, 3], pool_heights=[2, 2],
                              recombined=[2, 1])
    assert layer.num_new_fields == 2 * 3 + 1 * 2
    assert layer(torch.randn(7, 5, 4)).shape == (7, 8, 4)
    with pytest.raises(ValueError, match="one recombined channel count per conv layer"):
        FeatureGeneration(5, 4, [3, 2], [3, 3], [2, 2], [2])


def test_fgcnn_embeddings_are_separate_unless_shared():
    assert tiny_model("fgcnn").generator_embeddings is not None
    shared = tiny_model("fgcnn", share_embedding=True)
    assert shared.generator_embeddings is None
    assert sum(isinstance(m, nn.Embedding) for m in shared.modules()) == 1


def test_grda_is_soft_thresholded_dual_averaging():
    weight = nn.Parameter(torch.tensor([0.5, -0.02, 0.0]))
    optimizer = GRDA([weight], lr=0.5, c=0.1, mu=0.7)
    grads = [torch.tensor([0.1, 0.01, -0.3]), torch.tensor([0.2, -0.01, -0.2])]
    accumulator = weight.detach().clone()
    for n, grad in enumerate(grads, start=1):
        weight.grad = grad
        optimizer.step()
        accumulator -= 0.5 * grad
        threshold = 0.1 * 0.5 ** (0.5 + 0.7) * n ** 0.7
        torch.testing.assert_close(weight.detach(), accumulator.sign() * (accumulator.abs() - threshold).clamp_min(0))
    assert weight[1] == 0  # a weight whose gradients cancel is pruned exactly


def test_autofis_search_moves_alpha_by_grda_only():
    model = tiny_model("autofis", grda_learning_rate=0.5)
    batch = tiny_batch(model.schema)
    alpha = model.fm.alpha
    before = alpha.detach().clone()
    model.loss(model(batch), batch).backward()
    assert alpha.grad is None  # GRDA took the gradient in backward: the trainer's optimizer never sees it
    assert not torch.equal(alpha.detach(), before)
    for pname, p in model.named_parameters():
        if p is not alpha:
            assert p.grad is not None, f"no gradient reaches {pname}"


def test_autofis_retrain_needs_a_valid_mask(tmp_path):
    with pytest.raises(ConfigError, match="gate_mask_path"):
        tiny_model("autofis", autofis_stage="retrain")
    torch.save(torch.ones(4, dtype=torch.bool), tmp_path / "mask.pt")  # 5 fields have 10 pairs, not 4
    with pytest.raises(ConfigError, match="not a mask of 10 field pairs"):
        tiny_model("autofis", autofis_stage="retrain", gate_mask_path=tmp_path / "mask.pt")


def _tiny_run(tmp_path: Path, model: str, folder: str, **hyper):
    raw = {"model": model,
           "runner": {"data_format": "synthetic", "synthetic_train_rows": 3000, "synthetic_test_rows": 1000,
                      "synthetic_cardinalities": CARDINALITIES, "synthetic_seed": 3, "cache_dir": str(tmp_path / "cache"),
                      "model_save_path": str(tmp_path / folder), "epochs": 1, "train_batch_size": 128,
                      "progress_bar": False, "save_predictions": False},
           "hyper_parameters": {"sparse_inputs_slots": len(CARDINALITIES) + 1, "sparse_feature_number": 1003,
                                "sparse_feature_dim": 4, "fc_sizes": [16], "optimizer": {"learning_rate": 0.01},
                                **hyper}}
    return load_config(raw=raw)


def test_autofis_search_then_retrain_end_to_end(tmp_path):
    mask_path = tmp_path / "gates" / "mask.pt"
    search = _tiny_run(tmp_path, "autofis", "search", gate_mask_path=str(mask_path), grda_c=0.02)
    train(search)
    mask = torch.load(mask_path, weights_only=True)
    num_pairs = len(pairs(len(CARDINALITIES) + 13))
    assert mask.dtype == torch.bool and mask.shape == (num_pairs,)
    assert 0 < mask.sum() < num_pairs  # the search pruned some interactions and kept some
    assert not list(mask_path.parent.glob(".*tmp*"))  # written atomically: no temporary left behind
    retrain = _tiny_run(tmp_path, "autofis", "retrain", gate_mask_path=str(mask_path), autofis_stage="retrain")
    reports = train(retrain)
    assert math.isfinite(reports[-1].loss)
    auc = infer(retrain)[0]["auc"]
    assert auc == pytest.approx(reports[-1].test_metrics["auc"])
    saved = torch.load(tmp_path / "retrain" / "0" / "model.pt", weights_only=True)
    assert saved["fm.alpha"].shape == (int(mask.sum()),)  # only the kept interactions exist


def test_sign_propagation_by_hand():
    model = tiny_model("sign")
    nodes, gates = torch.randn(2, 5, 4), torch.rand(2, 10)
    gates[:, ::3] = 0.0  # dropped edges send nothing and do not count
    updated = model.propagate(nodes, gates)
    edges = pairs(5)
    for b in range(2):
        for node in range(5):
            kept = [(p, i, j) for p, (i, j) in enumerate(edges) if node in (i, j) and gates[b, p] > 0]
            messages = [gates[b, p] * model.interaction(nodes[b, i] * nodes[b, j]) for p, i, j in kept]
            expected = torch.stack(messages).mean(0) if messages else torch.zeros(4)
            torch.testing.assert_close(updated[b, node], expected)


def test_sign_gates_and_l0_penalty():
    model = tiny_model("sign", l0_weight=0.5)
    batch = tiny_batch(model.schema)
    outputs = model.train()(batch)
    penalty = model.edges.penalty
    assert penalty is not None and 0 < penalty.item() <= 0.5
    bce = torch.nn.functional.binary_cross_entropy_with_logits(outputs["click"], batch.labels["click"])
    torch.testing.assert_close(model.loss(outputs, batch), bce + penalty)
    with torch.no_grad():
        model.edges.scorer[-1].bias.fill_(-100.0)  # every edge dropped
    model.eval()
    pair_vectors = torch.randn(3, 10, 4)
    assert (model.edges(pair_vectors) == 0).all()
    nodes = model.node_embeddings(batch)  # no messages: each node keeps its own vector
    torch.testing.assert_close(model(batch)["click"], model.readout(nodes.mean(1)).squeeze(-1))


def test_towers_split_sides_by_slot_name():
    schema = tiny_schema(bag=True)  # slots a, b, c, tags (a bag)
    assert field_positions(schema) == {"a": 0, "b": 1, "c": 2, "tags": 3}
    assert user_item_slots(schema, None, None) == (["a", "b"], ["c", "tags"])
    assert user_item_slots(schema, None, ["a"]) == (["b", "c", "tags"], ["a"])
    with pytest.raises(ConfigError, match="unknown slot"):
        user_item_slots(schema, ["nope"], None)
    with pytest.raises(ConfigError, match="disjoint"):
        user_item_slots(schema, ["a", "b"], ["b"])
    split = UserItemSplit(schema, None, None, num_fields=6)
    assert split.order.tolist() == [0, 1, 2, 3, 4, 5]
    fields = torch.randn(2, 6, 3)
    user_neighbours, item_neighbours = split.neighbours(fields)
    torch.testing.assert_close(user_neighbours, fields[:, :2].mean(1))  # no bag on the user side: its slots
    torch.testing.assert_close(item_neighbours, fields[:, 3])  # the item side's bag


def test_field_groups_default_to_thirds_and_are_checked():
    schema = tiny_schema(bag=True)
    assert field_group_membership(schema, None).tolist() == [[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    for bad in ([[0, 1], [1]], [[4]], [[]]):
        with pytest.raises(ConfigError, match="field_groups"):
            field_group_membership(schema, bad)


def test_als_mlp_towers_see_only_their_side():
    model = tiny_model("als_mlp", tiny_schema(bag=True)).eval()
    batch = tiny_batch(model.schema)
    user, item = model.towers(batch)
    batch.sparse[:, 2] = (batch.sparse[:, 2] + 1) % 50  # change slot c: item side
    user_after, item_after = model.towers(batch)
    torch.testing.assert_close(user, user_after)
    assert not torch.allclose(item, item_after)
    joint = model.joint_mlp(torch.cat([user_after, item_after, batch.dense], 1)).squeeze(-1)
    torch.testing.assert_close(model.logit(batch), model.linear(batch) + (user_after * item_after).sum(1) + joint)


def test_neighbor_mlp_reads_the_mean_bag_as_a_neighbourhood():
    model = tiny_model("neighbor_mlp", tiny_schema(bag=True))
    batch = tiny_batch(model.schema)
    bag = batch.sequences["tags"]
    mask = (bag != 0).unsqueeze(-1).float()
    expected = (model.field_embeddings.table(bag) * mask).sum(1) / mask.sum(1).clamp_min(1)
    torch.testing.assert_close(model.sides.neighbours(model.field_embeddings(batch))[1], expected)


# --- quality: every model learns the planted teacher --------------------------------------------------------

# (model, settings, allowed gap to the oracle AUC). Settings other than the paper's are for the small synthetic
# data: AFN's 1500 neurons and FGCNN's Criteo convolutions are scaled down to its 19 fields so the test stays
# short, and NFM runs without dropout on its 8-wide bi-interaction vector (the paper tunes that ratio).
# neighbor_mlp, like the plain DNN, has no first-order term and stays ~0.03 short of the oracle.
QUALITY = [("ffm", {}, 0.03), ("nfm", {"bi_interaction_dropout": 0.0}, 0.03), ("deepfefm", {}, 0.03),
           ("flen", {}, 0.03), ("afn", {"logarithmic_neurons": 64}, 0.03),
           ("afn_plus", {"logarithmic_neurons": 64}, 0.03),
           ("fgcnn", {"conv_channels": [8, 8], "conv_kernel_heights": [5, 5], "pooling_heights": [2, 2],
                      "recombined_channels": [2, 2]}, 0.03),
           ("autofis", {}, 0.03), ("sign", {}, 0.05), ("als_mlp", {}, 0.03), ("neighbor_mlp", {}, 0.05),
           ("cnn_predictor", {}, 0.03)]


@pytest.mark.slow  # trains 100k rows x 3 epochs per model: run with scripts/test.sh -m slow
@pytest.mark.parametrize("name, hyper, gap", QUALITY, ids=[q[0] for q in QUALITY])
def test_learns_the_teacher(name, hyper, gap, train_synthetic):
    auc, oracle = train_synthetic(name, **hyper)
    print(f"{name}: test AUC {auc:.4f}, oracle {oracle:.4f}, gap {oracle - auc:.4f}")
    assert auc >= oracle - gap, (name, auc, oracle)
