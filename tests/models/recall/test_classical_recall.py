"""Classical and embedding recall models (ItemCF, UserCF, EASE, ALS, word2vec, DeepWalk, ENSFM, DeepRec, RNN
predictors): each finds planted structure, and each closed form / trick matches a brute-force reference.

Planted data: 6 groups of 15 items; a user belongs to one group and walks its items in a fixed cycle. Knowing
the group puts the held-out item in the top 10 of the ~6 unseen group items every time (random: 10 / 80);
knowing the cycle ranks it first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from recstack.cli import main
from recstack.config import load_config
from recstack.data.interactions import UserItems, load_interactions, user_batch
from recstack.models.base import build_model, model_params_class
from recstack.models.recall.als import ALSParams, implicit_loss, solve_side
from recstack.models.recall.deepwalk import item_walks
from recstack.models.recall.fitted import interaction_matrix, user_rows
from recstack.models.recall.word2vec import skipgram_pairs
from recstack.train.recall import train

GROUPS, GROUP_SIZE, USERS = 6, 15, 240
RANDOM_HR10 = 10 / (GROUPS * GROUP_SIZE - 9)
MODELS = {  # model -> (hyper_parameters for the tiny data, epochs, HR@10 it must beat)
    "itemcf": ({"num_neighbours": 10}, 1, 0.9),
    "usercf": ({"num_neighbours": 20}, 1, 0.9),
    "ease": ({"l2": 5.0}, 1, 0.9),
    "als": ({"sparse_feature_dim": 8, "l2": 1.0, "alpha": 10.0}, 5, 0.9),
    "word2vec": ({"sparse_feature_dim": 16, "window": 3, "subsample": 0.0, "optimizer": {"learning_rate": 0.02}},
                 3, 0.8),
    "deepwalk": ({"sparse_feature_dim": 16, "window": 3, "walk_length": 10, "walks_per_node": 5,
                  "optimizer": {"learning_rate": 0.02}}, 3, 0.8),
    "ensfm": ({"sparse_feature_dim": 16, "negative_weight": 0.2}, 40, 0.8),
    "deeprec": ({"hidden_sizes": [32, 16], "dropout": 0.2, "optimizer": {"learning_rate": 0.01}}, 40, 0.8),
    "rnn_predictor": ({"sparse_feature_dim": 16, "hidden_size": 16, "history_length": 8,
                       "optimizer": {"learning_rate": 0.02}}, 15, 0.8),
    "als_rnn": ({"sparse_feature_dim": 16, "hidden_size": 32, "history_length": 8, "als_sweeps": 5, "als_l2": 1.0,
                 "als_alpha": 10.0, "optimizer": {"learning_rate": 0.02}}, 15, 0.8),
}
SEQUENTIAL = {"rnn_predictor", "als_rnn"}


@pytest.fixture(scope="module")
def walks(tmp_path_factory):
    rng = np.random.default_rng(3)
    groups, starts = rng.integers(0, GROUPS, USERS), rng.integers(0, GROUP_SIZE, USERS)
    lines = []
    for user, (group, start) in enumerate(zip(groups, starts)):
        steps = start + np.arange(rng.integers(7, 11))
        lines.append(" ".join(map(str, [user, *(group * GROUP_SIZE + steps % GROUP_SIZE + 1)])))
    path = tmp_path_factory.mktemp("walks") / "walks.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def config(name: str, data_path, out, epochs: int):
    return load_config(raw={"model": name, "hyper_parameters": MODELS[name][0], "runner": {
        "data_format": "user_items", "train_data_dir": str(data_path), "train_batch_size": 64, "epochs": epochs,
        "eval_interval": epochs, "model_save_path": str(out), "topk": [1, 10], "seed": 1, "progress_bar": False}})


@pytest.mark.parametrize("name", list(MODELS))
def test_learns_planted_groups(name, walks, tmp_path):
    torch.manual_seed(0)
    _, epochs, threshold = MODELS[name]
    report = train(config(name, walks, tmp_path, epochs))[-1]
    assert report["test"]["hr@10"] > threshold > 5 * RANDOM_HR10, report["test"]
    if name in SEQUENTIAL:  # the group alone puts the next item first about 1 time in 6
        assert report["test"]["hr@1"] > 0.5, report["test"]


def fitted(name: str, walks, hyper: dict):
    data = load_interactions("user_items", walks)
    model = build_model(name, data.schema, model_params_class(name).model_validate(hyper))
    model.observe(data)
    model.fit(data)
    return model, data


def test_ease_matches_per_item_ridge_regressions(walks):
    """Each column of B is the ridge regression of item i on all other items (Steck's constraint diag(B) = 0)."""
    model, data = fitted("ease", walks, {"l2": 3.0})
    x = interaction_matrix(data.train, data.num_items).to_dense().double().numpy()
    for item in (1, 17, 60):
        others = np.delete(np.arange(x.shape[1]), item)
        a = x[:, others]
        expected = np.linalg.solve(a.T @ a + 3.0 * np.eye(len(others)), a.T @ x[:, item])
        np.testing.assert_allclose(model.item_weights[others, item].numpy(), expected, atol=1e-4)
        assert model.item_weights[item, item] == 0


def test_ease_objective_is_the_regularised_reconstruction_error(walks):
    model, data = fitted("ease", walks, {"l2": 3.0})
    x = interaction_matrix(data.train, data.num_items).to_dense().double()
    weights = model.item_weights.double()
    expected = ((x - x @ weights) ** 2).sum() + 3.0 * (weights ** 2).sum()
    assert model.fit(data) == pytest.approx(float(expected), rel=1e-4)


def test_itemcf_is_cosine_kept_to_top_k(walks):
    model, data = fitted("itemcf", walks, {"num_neighbours": 4})
    x = interaction_matrix(data.train, data.num_items).to_dense().double().numpy()
    norms = np.linalg.norm(x, axis=0)
    cosine = (x.T @ x) / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(cosine, 0)
    weights = model.item_weights.double().numpy()
    assert ((weights > 0).sum(1) <= 4).all()
    kept = weights > 0
    np.testing.assert_allclose(weights[kept], cosine[kept], rtol=1e-5)
    for row in (1, 30):  # what was kept is at least as similar as anything dropped
        assert cosine[row][kept[row]].min() >= cosine[row][~kept[row]].max() - 1e-9


def test_item_to_item_scores_sum_the_history_rows_of_the_weights(walks):
    model, data = fitted("ease", walks, {"l2": 3.0})
    users = np.array([0, 5, 9])
    catalogue = model.item_embedding(torch.arange(data.num_items + 1))
    scores = model.score(model.user_embedding(user_batch(users, data.train, 20)), catalogue)
    weights = model.item_weights.double().numpy()
    for row, user in enumerate(users):
        history = data.train.last(np.array([user]), 20)[0]
        expected = weights[np.unique(history[history > 0])].sum(0)
        np.testing.assert_allclose(scores[row].numpy(), expected, atol=1e-5)
    pairs = catalogue[torch.tensor([[1, 2]] * 3)]  # the sampled protocol's [B, C, N + 1] candidates
    sampled = model.score(model.user_embedding(user_batch(users, data.train, 20)), pairs)
    np.testing.assert_allclose(sampled.numpy(), scores[:, 1:3].numpy(), atol=1e-5)


def test_word2vec_user_is_the_mean_of_their_latest_items(walks):
    data = load_interactions("user_items", walks)
    params = model_params_class("word2vec").model_validate({"sparse_feature_dim": 8, "user_history": 3})
    model = build_model("word2vec", data.schema, params)
    torch.nn.init.normal_(model.items.weight)  # as if trained: the initial vectors are nearly equal
    users = np.array([0, 5])
    batch = user_batch(users, data.train, 20)
    for row, user in enumerate(users):
        latest = torch.from_numpy(data.train.last(np.array([user]), 3)[0])
        expected = model.items.weight[latest].mean(0)
        torch.testing.assert_close(model.user_embedding(batch)[row], expected)
    model.params.user_history = 0  # every item
    history = torch.from_numpy(data.train.last(users[:1], 20)[0])
    torch.testing.assert_close(model.user_embedding(batch)[0], model.items.weight[history[history > 0]].mean(0))


def test_usercf_scores_match_brute_force(walks):
    model, data = fitted("usercf", walks, {"num_neighbours": 5})
    users = np.array([0, 7])
    scores = model.score(model.user_embedding(user_batch(users, data.train, 20)),
                         model.item_embedding(torch.arange(data.num_items + 1)))
    x = interaction_matrix(data.train, data.num_items).to_dense().double().numpy()
    for row, user in enumerate(users):
        norms = np.linalg.norm(x, axis=1) * np.linalg.norm(x[user])
        similarity = x @ x[user] / norms
        similarity[user] = 0
        neighbours = np.argsort(-similarity, kind="stable")[:5]
        expected = similarity[neighbours] @ x[neighbours]
        np.testing.assert_allclose(scores[row].numpy(), expected, atol=1e-5)


def test_als_conjugate_gradient_reaches_the_exact_solve_and_sweeps_lower_the_objective(walks):
    data = load_interactions("user_items", walks)
    torch.manual_seed(0)
    users, items = torch.from_numpy(data.train.row_users()), torch.from_numpy(data.train.items)
    item_factors = torch.randn(data.num_items + 1, 4, dtype=torch.float64)
    start = torch.zeros(data.num_users, 4, dtype=torch.float64)
    solved = solve_side(start, item_factors, users, items, alpha=5.0, l2=0.5, steps=8)  # CG is exact in d steps
    for user in (0, 11):
        mine = item_factors[items[users == user]]
        a = item_factors.T @ item_factors + 5.0 * mine.T @ mine + 0.5 * torch.eye(4, dtype=torch.float64)
        np.testing.assert_allclose(solved[user], torch.linalg.solve(a, 6.0 * mine.sum(0)), atol=1e-8)
    model = build_model("als", data.schema, ALSParams(sparse_feature_dim=8, alpha=5.0, l2=0.5))
    objectives = [model.fit(data) for _ in range(4)]
    assert all(later < earlier for earlier, later in zip(objectives, objectives[1:])), objectives
    x, y = model.user_factors.double(), model.item_factors.double()
    preference = interaction_matrix(data.train, data.num_items).to_dense().double()
    dense = ((1 + 5.0 * preference) * (preference - x @ y.T).pow(2)).sum() + 0.5 * (x.pow(2).sum() + y.pow(2).sum())
    assert implicit_loss(x, y, users, items, 5.0, 0.5) == pytest.approx(dense.item(), rel=1e-9)


def test_ensfm_memorisation_trick_equals_the_loss_over_every_item(walks):
    data = load_interactions("user_items", walks)
    torch.manual_seed(0)
    model = build_model("ensfm", data.schema, model_params_class("ensfm").model_validate(
        {"sparse_feature_dim": 6, "negative_weight": 0.3}))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_()
    batch = next(user_rows(data, 16, np.random.default_rng(0)))
    fast = model.loss(model(batch), batch)
    history = batch.sequences["history"]
    scores = model.score(model.user_embedding(batch), model.item_embedding(torch.arange(data.num_items + 1)))
    positive = torch.zeros_like(scores, dtype=torch.bool)
    positive[torch.arange(16).unsqueeze(1).expand_as(history)[history > 0], history[history > 0]] = True
    scores, positive = scores[:, 1:], positive[:, 1:]  # item 0 is padding
    weights = torch.where(positive, 1.0, 0.3)
    brute = (weights * (positive.double() - scores).pow(2)).sum() - positive.sum()  # the loss drops sum of c+ y²
    assert fast.item() == pytest.approx(brute.item(), rel=1e-4)


def test_deeprec_loss_weights_the_users_own_items(walks):
    """Weighted MSE over every real item: a user's items count positive_weight, the rest 1 (weight 1 = plain MSE)."""
    data = load_interactions("user_items", walks)
    batch = next(user_rows(data, 16, np.random.default_rng(0)))
    losses = {}
    for weight in (1.0, 7.0):
        torch.manual_seed(0)
        model = build_model("deeprec", data.schema, model_params_class("deeprec").model_validate(
            {"hidden_sizes": [8], "dense_refeeding": False, "positive_weight": weight})).eval()
        outputs = model(batch)
        losses[weight] = model.loss(outputs, batch).item()
        history = batch.sequences["history"]
        rows = torch.zeros(16, data.num_items + 1)
        rows[torch.arange(16).unsqueeze(1).expand_as(history)[history > 0], history[history > 0]] = 1.0
        error = (outputs["reconstruction"] - rows)[:, 1:].pow(2)  # item 0 is padding
        brute = torch.where(rows[:, 1:] > 0, weight * error, error).mean()
        assert losses[weight] == pytest.approx(brute.item(), rel=1e-5)
    assert losses[7.0] > losses[1.0]
    with pytest.raises(Exception, match="positive_weight"):
        model_params_class("deeprec").model_validate({"positive_weight": 0})


def test_deeprec_refeeds_its_reconstruction_clipped_to_the_range_of_real_rows(walks):
    """Dense re-feeding adds MSE(f(r), r) for r = f(x) clipped to [0, 1]: an out-of-range reconstruction is not
    fed back as it is (unclipped, the re-fed rows grew without bound on Beauty)."""
    data = load_interactions("user_items", walks)
    batch = next(user_rows(data, 16, np.random.default_rng(0)))
    torch.manual_seed(0)
    model = build_model("deeprec", data.schema, model_params_class("deeprec").model_validate(
        {"hidden_sizes": [8], "positive_weight": 3.0})).eval()
    with torch.no_grad():
        model.output.bias[1::2] = 4.0  # half the items reconstructed far above 1, half far below 0
        model.output.bias[2::2] = -4.0
    outputs = model(batch)
    reconstruction, rows = outputs["reconstruction"], outputs["rows"]
    assert reconstruction[:, 1:].max() > 2 and reconstruction[:, 1:].min() < -2
    refed = reconstruction.detach().clamp(0.0, 1.0)
    weights = 1 + 2.0 * rows[:, 1:]
    expected = ((weights * (reconstruction - rows)[:, 1:].pow(2)).mean()
                + (model.reconstruct(refed) - refed)[:, 1:].pow(2).mean())
    assert model.loss(outputs, batch).item() == pytest.approx(expected.item(), rel=1e-5)


def test_skipgram_pairs_stay_inside_sentences_and_windows():
    sentences = UserItems(np.array([0, 3, 5]), np.array([1, 2, 3, 4, 5]))
    pairs = skipgram_pairs(sentences, np.ones(6), window=1, rng=np.random.default_rng(0))
    assert sorted(map(tuple, pairs.tolist())) == [(1, 2), (2, 1), (2, 3), (3, 2), (4, 5), (5, 4)]
    assert len(skipgram_pairs(sentences, np.zeros(6), window=2, rng=np.random.default_rng(0))) == 0


def test_deepwalk_steps_go_through_a_shared_user(walks):
    data = load_interactions("user_items", walks)
    sentences = item_walks(data, 2, 6, np.random.default_rng(0))
    assert sentences.lengths().tolist() == [6] * (2 * len(np.unique(data.train.items)))
    x = interaction_matrix(data.train, data.num_items).to_dense()
    path = torch.from_numpy(sentences.items.reshape(-1, 6))
    assert ((x[:, path[:, :-1]] * x[:, path[:, 1:]]).sum(0) > 0).all()  # consecutive items share a user


def test_cli_train_then_infer_a_fitted_model(walks, tmp_path):
    cfg_path = tmp_path / "ease.yaml"
    cfg_path.write_text(json.dumps({"model": "ease", "hyper_parameters": {"l2": 5.0}, "runner": {
        "data_format": "user_items", "train_data_dir": str(walks), "epochs": 1, "topk": [10],
        "model_save_path": str(tmp_path / "out"), "infer_start_epoch": 0, "progress_bar": False}}))
    assert main(["train", "-m", str(cfg_path)]) == 0
    assert main(["infer", "-m", str(cfg_path)]) == 0
    saved = json.loads((tmp_path / "out" / "0" / "metrics.json").read_text())
    inferred = json.loads((tmp_path / "out" / "0" / "infer_metrics.json").read_text())
    assert inferred["ndcg@10"] == pytest.approx(saved["test"]["ndcg@10"]) and saved["test"]["hr@10"] > 0.9
    assert saved["train_loss"] > 0  # EASE reports its objective


ML1M = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ml-1m"


@pytest.mark.slow
@pytest.mark.skipif(not (ML1M / "ultragcn_m1_train.txt.gz").exists(), reason="needs ../shared/data/ml-1m")
def test_ease_on_ml1m_reaches_the_graph_models(tmp_path):
    """EASE's one closed-form step on the UltraGCN ML-1M split beats LightGCN's published Recall@20 0.2576."""
    cfg = load_config(Path(__file__).resolve().parents[3] / "configs" / "recall" / "ease.yaml",
                      [f"runner.model_save_path={tmp_path}", "runner.progress_bar=false"])
    report = train(cfg)[-1]
    assert report["test"]["recall@20"] > 0.27 and report["test"]["ndcg@20"] > 0.26, report["test"]
