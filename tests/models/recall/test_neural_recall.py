"""NCF (gmf, ncf_mlp, neumf), BERT4Rec, TiSASRec, MIND and SR-GNN: each learns planted data well above random,
and their non-standard pieces match straightforward reference computations.

Planted walks (as in test_recall_models.py): 8 groups of 20 items; each user walks its group's items in a cycle.
Random HR@10 is 10 / 150. TiSASRec's data also plants time: the step to the next item is 1 after a short gap
and 3 after a long one, which only a model that sees the intervals can predict.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recstack.config import load_config
from recstack.data.formats.diginetica import read_diginetica_sessions
from recstack.data.interactions import load_interactions, pair_batches, sequence_batches
from recstack.errors import ConfigError, DataFormatError
from recstack.models.base import build_model, model_params_class
from recstack.models.recall import ncf_mlp
from recstack.models.recall.srgnn import session_graph
from recstack.models.recall.tisasrec import TimeIntervalBlock
from recstack.train.recall import train

GROUPS, GROUP_SIZE, USERS = 8, 20, 400
RANDOM_HR10 = 10 / (GROUPS * GROUP_SIZE - 10)
DENSE = {"learning_rate": 0.01, "sparse": False}
MODELS = {  # model -> (hyper_parameters, data file, epochs, batch size, HR@10 it must beat, HR@1 it must beat)
    "gmf": ({"sparse_feature_dim": 16, "optimizer": {"learning_rate": 0.02}}, "walks", 8, 256, 0.7, 0.0),
    "ncf_mlp": ({"sparse_feature_dim": 16, "fc_sizes": [64, 32], "init_std": 0.1,
                 "optimizer": {"learning_rate": 0.02}}, "walks", 10, 256, 0.6, 0.0),
    "neumf": ({"sparse_feature_dim": 16, "mlp_embedding_dim": 16, "fc_sizes": [32, 16], "init_std": 0.1,
               "optimizer": {"learning_rate": 0.01}}, "walks", 8, 256, 0.7, 0.0),
    "bert4rec": ({"sparse_feature_dim": 16, "history_length": 8, "mask_prob": 0.3,
                  "optimizer": {"learning_rate": 0.005, "sparse": False}},
                 "walks", 20, 32, 0.6, 0.0),
    "tisasrec": ({"sparse_feature_dim": 16, "history_length": 8, "dropout": 0.1, "optimizer": DENSE},
                 "timed", 15, 64, 0.8, 0.0),
    "mind": ({"sparse_feature_dim": 16, "history_length": 5, "num_negatives": 20, "num_interests": 2,
              "optimizer": DENSE}, "walks", 5, 256, 0.8, 0.0),
    "srgnn": ({"sparse_feature_dim": 16, "history_length": 5, "optimizer": DENSE}, "sessions", 5, 256, 0.9, 0.8),
}
DATA_FORMATS = {"walks": "user_items", "timed": "movielens_sequence", "sessions": "diginetica_sessions"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict[str, object]:
    """The same walks as user lines, as DIGINETICA sessions (one view of each item, min_item_count met), and
    (a second draw) as u.data with planted time steps."""
    rng, folder = np.random.default_rng(0), tmp_path_factory.mktemp("planted")
    walks, views, ratings = [], ["session_id;user_id;item_id;timeframe;eventdate"], []
    for user in range(USERS):
        group, start, length = rng.integers(GROUPS), rng.integers(GROUP_SIZE), rng.integers(8, 13)
        items = group * GROUP_SIZE + (start + np.arange(length)) % GROUP_SIZE + 1
        walks.append(" ".join(map(str, [user, *items])))
        views += [f"{user + 1};NA;{item};{1000 * k};2016-05-0{1 + k // 5}" for k, item in enumerate(items)]
        gaps = rng.choice([60, 3600], size=length)  # gap before each item; the step after it follows that gap
        offsets = np.concatenate([[0], np.cumsum(np.where(gaps[:-1] == 60, 1, 3))])
        for item, time in zip(group * GROUP_SIZE + (start + offsets) % GROUP_SIZE + 1, np.cumsum(gaps)):
            ratings.append(f"{user + 1}\t{item}\t5\t{time}")
    paths = {"walks": folder / "walks.txt", "sessions": folder / "views.csv", "timed": folder / "u.data"}
    for name, lines in (("walks", walks), ("sessions", views), ("timed", ratings)):
        paths[name].write_text("\n".join(lines) + "\n")
    return paths


def config(name: str, planted, out, epochs: int | None = None):
    hyper, data, default_epochs, batch_size, _, _ = MODELS[name]
    epochs = epochs or default_epochs
    return load_config(raw={"model": name, "hyper_parameters": hyper, "runner": {
        "data_format": DATA_FORMATS[data], "train_data_dir": str(planted[data]), "train_batch_size": batch_size,
        "epochs": epochs, "eval_interval": epochs, "model_save_path": str(out), "topk": [1, 10], "seed": 1,
        "progress_bar": False}})


@pytest.mark.parametrize("name", list(MODELS))
def test_learns_planted_structure(name, planted, tmp_path):
    torch.manual_seed(0)
    *_, hr10, hr1 = MODELS[name]
    report = train(config(name, planted, tmp_path))[-1]
    assert report["test"]["hr@10"] > hr10 > 3 * RANDOM_HR10, report["test"]
    assert report["test"]["hr@1"] >= hr1, report["test"]


@pytest.mark.slow
def test_tisasrec_reads_the_planted_time_rule_that_sasrec_cannot(planted, tmp_path):
    hr1 = {}
    for name in ("tisasrec", "sasrec"):
        torch.manual_seed(0)
        cfg = config("tisasrec", planted, tmp_path / name, epochs=30)
        cfg = cfg.model_copy(update={"model": name, "hyper_parameters": model_params_class(name).model_validate(
            MODELS["tisasrec"][0])})
        hr1[name] = train(cfg)[-1]["test"]["hr@1"]
    assert hr1["tisasrec"] > hr1["sasrec"] + 0.15, hr1


def build(name: str, planted, **overrides):
    hyper, data, *_ = MODELS[name]
    loaded = load_interactions(DATA_FORMATS[data], planted[data])
    model = build_model(name, loaded.schema, model_params_class(name).model_validate({**hyper, **overrides}))
    model.observe(loaded)
    return model, loaded


@pytest.mark.parametrize("name", list(MODELS))
def test_contract_shapes_and_gradients(name, planted):
    torch.manual_seed(0)
    model, data = build(name, planted)
    params, rng = model.params, np.random.default_rng(0)
    batch = next(sequence_batches(data, 16, rng, params.history_length) if model.training_input == "sequences"
                 else pair_batches(data, 16, rng, params.num_negatives, params.history_length))
    model.train()
    loss = model.loss(model(batch), batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters()), \
        [n for n, p in model.named_parameters() if p.grad is None]
    model.eval()
    users, items = model.user_embedding(batch), model.item_embedding(torch.arange(data.num_items + 1))
    assert users.shape[0] == 16 and items.shape[0] == data.num_items + 1
    full = model.score(users, items)
    candidates = torch.randint(1, data.num_items + 1, (16, 5))
    assert full.shape == (16, data.num_items + 1)
    torch.testing.assert_close(model.score(users, items[candidates]), full.gather(1, candidates))


@pytest.mark.parametrize("name", ["ncf_mlp", "neumf"])
def test_ncf_scores_match_the_concatenated_mlp_in_any_chunking(name, planted, monkeypatch):
    torch.manual_seed(0)
    model, data = build(name, planted, dropout=0.0)
    model.eval()
    user_vectors = model.user_embedding(next(pair_batches(data, 7, np.random.default_rng(0), 1)))
    items = model.item_embedding(torch.arange(data.num_items + 1))
    whole = model.score(user_vectors, items)
    monkeypatch.setattr(ncf_mlp, "PAIR_CELLS", 100)  # a few users per chunk
    torch.testing.assert_close(model.score(user_vectors, items), whole)
    # the paper's form: MLP over the concatenation [p_u; q_i] (one Linear), for every pair
    mlp, split = model.mlp, (model.params.sparse_feature_dim if name == "neumf" else 0)
    pairs = torch.cat([user_vectors[:, None, split:].expand(-1, len(items), -1),
                       items[None, :, split:].expand(len(user_vectors), -1, -1)], dim=-1)
    first = torch.cat([mlp.first_user.weight, mlp.first_item.weight], dim=1)
    hidden = mlp.rest(torch.relu(pairs @ first.T + mlp.first_user.bias))
    if name == "neumf":
        hidden = torch.cat([user_vectors[:, None, :split] * items[None, :, :split], hidden], dim=-1)
    torch.testing.assert_close(model.output(hidden).squeeze(-1), whole)


def test_ncf_mlp_without_layers_names_the_key(planted):
    with pytest.raises(ConfigError, match="hyper_parameters.fc_sizes: neumf needs at least one MLP layer"):
        build("neumf", planted, fc_sizes=[])


def test_gmf_sampled_protocol_as_the_ncf_paper(planted, tmp_path):
    torch.manual_seed(0)
    cfg = config("gmf", planted, tmp_path)
    cfg.runner.eval_protocol, cfg.runner.eval_negatives = "sampled", 99
    report = train(cfg)[-1]["test"]
    assert report["hr@10"] > 0.9 > 10 / 100  # random: 10 of the 100 candidates


def test_mind_serves_the_best_interest_and_keeps_log2_interests(planted):
    torch.manual_seed(0)
    model, data = build("mind", planted, num_interests=4, history_length=8)
    model.eval()
    history = torch.zeros(2, 8, dtype=torch.int64)
    history[0, -2:] = torch.tensor([3, 4])  # 2 items: ceil(log2 2) = 1 interest
    history[1, -5:] = torch.tensor([3, 4, 5, 6, 7])  # 5 items: 3 interests
    interests = model.interests(history)
    assert torch.equal(interests[0, 1:], interests[0, :1].expand(3, -1))
    assert not torch.allclose(interests[1, 2], interests[1, 0]) and torch.equal(interests[1, 3], interests[1, 0])
    items = model.item_embedding(torch.arange(data.num_items + 1))
    expected = torch.stack([interests[:, k] @ items.T for k in range(4)]).max(0).values
    torch.testing.assert_close(model.score(interests.flatten(1), items), expected)


def test_bert4rec_attends_both_ways_and_serves_the_mask_position(planted):
    torch.manual_seed(0)
    model, data = build("bert4rec", planted)
    model.eval()
    history = torch.tensor([[0, 0, 5, 6, 7, 8, 9, 10], [0, 0, 5, 6, 7, 8, 9, 11]])
    states = model.encode(history)
    assert not torch.allclose(states[0, 2], states[1, 2])  # the first item's state sees the last item
    model.train()
    batch = next(sequence_batches(data, 64, np.random.default_rng(0), model.params.history_length))
    outputs = model(batch)
    masked, items = outputs["masked"], outputs["items"]
    assert (items[masked] > 0).all() and masked.any(1).all()  # only real items, at least one per sequence
    assert torch.equal(items[:, -1], batch.sequences["targets"][:, -1])  # the window ends at the last train item


def test_tisasrec_intervals_follow_the_paper(tmp_path):
    # user 1: times 100, 160, 400, 400 + 60 * 300 (a gap past time_span); smallest non-zero train gap: 60
    (tmp_path / "u.data").write_text("1\t10\t5\t100\n1\t11\t5\t160\n1\t12\t5\t400\n1\t13\t5\t18400\n"
                                     "1\t14\t5\t18500\n1\t15\t5\t18600\n2\t10\t5\t5\n2\t11\t5\t5\n2\t12\t5\t5\n")
    data = load_interactions("movielens_sequence", tmp_path)
    model = build_model("tisasrec", data.schema, model_params_class("tisasrec").model_validate(
        {"sparse_feature_dim": 8, "history_length": 4}))
    model.observe(data)
    history = torch.tensor([[1, 2, 3, 4], [0, 0, 0, 1]])  # user 0's first 4 items; user 1's first
    intervals = model.intervals(torch.tensor([0, 1]), history)
    times = np.array([100, 160, 400, 18400])
    expected = np.minimum(np.abs(times[:, None] - times[None, :]) // 60, 256)
    assert np.array_equal(intervals[0].numpy(), expected)
    assert intervals[1, -1, -1] == 0  # user 1 has no non-zero gap: scale 1, every interval 0
    (tmp_path / "walks.txt").write_text("1 10 11 12\n2 10 11 12\n")
    untimed = load_interactions("user_items", tmp_path / "walks.txt")
    with pytest.raises(ConfigError, match="tisasrec needs interaction times"):
        build_model("tisasrec", untimed.schema, model.params).observe(untimed)


def test_time_interval_attention_matches_the_papers_formula():
    torch.manual_seed(0)
    block, (batch, length, dim, span) = TimeIntervalBlock(8, dropout=0.0).eval(), (3, 5, 8, 6)
    x, intervals = torch.randn(batch, length, dim), torch.randint(0, span + 1, (batch, length, length))
    attend = (torch.rand(batch, length, length) < 0.7) | torch.eye(length, dtype=torch.bool)
    positions, table = (torch.randn(length, dim), torch.randn(length, dim)), (torch.randn(span + 1, dim),
                                                                                torch.randn(span + 1, dim))
    q, k, v = block.qkv(block.norm1(x)).chunk(3, dim=-1)
    keys = k.unsqueeze(1) + positions[0] + table[0][intervals]  # [B, L, L, d]: k_j + P^K_j + R^K[r_ij]
    values = v.unsqueeze(1) + positions[1] + table[1][intervals]
    logits = torch.einsum("bid,bijd->bij", q, keys) / dim ** 0.5
    attended = torch.einsum("bij,bijd->bid", logits.masked_fill(~attend, float("-inf")).softmax(-1), values)
    expected = x + attended
    expected = expected + block.ffn(block.norm2(expected))
    torch.testing.assert_close(block(x, intervals, attend, positions, table), expected)


def test_session_graph_matches_the_papers_adjacency():
    history = torch.tensor([[0, 5, 3, 5, 7], [2, 2, 2, 9, 2]])
    nodes, alias, a_in, a_out = session_graph(history)
    for row in range(len(history)):
        items = history[row].tolist()
        distinct = sorted(set(items))  # the paper's code: np.unique(session) as nodes
        assert nodes[row, :len(distinct)].tolist() == distinct
        assert [distinct[i] for i in alias[row].tolist()] == items
        adjacency = np.zeros((5, 5))
        for a, b in zip(items, items[1:]):
            if a and b:
                adjacency[distinct.index(a), distinct.index(b)] = 1
        out_degree, in_degree = adjacency.sum(1, keepdims=True), adjacency.sum(0, keepdims=True)
        np.testing.assert_allclose(a_out[row].numpy(), adjacency / np.maximum(out_degree, 1))
        np.testing.assert_allclose(a_in[row].numpy(), (adjacency / np.maximum(in_degree, 1)).T)


def test_diginetica_reader_orders_filters_and_names_bad_lines(tmp_path):
    header = "session_id;user_id;item_id;timeframe;eventdate\n"
    path = tmp_path / "views.csv"
    rows = ["2;NA;7;500;2016-05-02", "1;NA;7;900;2016-05-01", "1;NA;8;100;2016-05-01", "2;NA;8;20;2016-05-01",
            "3;NA;9;0;2016-05-01", "3;NA;7;5;2016-05-01", "4;NA;8;0;2016-05-01"]
    path.write_text(header + "\n".join(rows) + "\n")
    sessions, items = read_diginetica_sessions(path, min_item_count=2)  # item 9 (once) goes, then sessions 3, 4
    assert sessions.tolist() == [1, 2] and [s.tolist() for s in items] == [[8, 7], [8, 7]]
    for bad, problem in (("1;NA;7;900", "expected 5"), ("1;NA;x;900;2016-05-01", "must be integers"),
                         ("1;NA;7;900;01/05/2016", "not a YYYY-MM-DD")):
        path.write_text(header + rows[0] + "\n" + bad + "\n")
        with pytest.raises(DataFormatError, match=f"views.csv:3: .*{problem}"):
            read_diginetica_sessions(path)
    path.write_text("session;item\n" + rows[0] + "\n")
    with pytest.raises(DataFormatError, match="views.csv:1: expected the header"):
        read_diginetica_sessions(path)


@pytest.mark.parametrize("seed", range(5))
def test_ncf_mlp_starts_with_every_unit_alive_on_the_papers_small_embeddings(seed, planted):
    """With N(0, 0.01) embeddings a unit's input is nearly its bias; a unit no pair activates gets no gradient, and
    when a whole layer starts so the model never leaves the constant prediction (ML-100k seed 2026 did)."""
    torch.manual_seed(seed)
    model, data = build("ncf_mlp", planted, init_std=0.01, fc_sizes=[32, 16, 8])
    users = model.users.weight[:, None, :]
    items = model.item_embedding(torch.arange(1, data.num_items + 1))[None]
    mlp, active = model.mlp, []
    with torch.no_grad():
        hidden = torch.relu(mlp.first_user(users) + mlp.first_item(items))
        active.append((hidden > 0).flatten(0, 1).float().mean(0))
        for layer in mlp.rest:
            hidden = layer(hidden)
            if isinstance(layer, torch.nn.ReLU):
                active.append((hidden > 0).flatten(0, 1).float().mean(0))
    for depth, share in enumerate(active):
        assert share.min() > 0, f"layer {depth}: share of pairs each unit fires on {share.tolist()}"
