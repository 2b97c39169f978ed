"""Matching models: shapes, the pair metrics against brute force, and learning the planted topic pairs."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from recstack.config import load_config
from recstack.errors import ConfigError
from recstack.models.base import build_model, model_params_class
from recstack.models.content.base import TextSchema
from recstack.train import text


def brute_force_order_accuracy(scores, labels, groups) -> float:
    right = total = 0.0
    for i, j in itertools.permutations(range(len(scores)), 2):
        if groups[i] == groups[j] and labels[i] > labels[j]:
            total += 1
            right += 1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0.0
    return right / total


def test_order_accuracy_matches_brute_force_with_grades_and_ties():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 6, 60)
    labels = rng.integers(0, 3, 60).astype(np.float32)
    scores = rng.integers(0, 4, 60).astype(np.float64)  # many ties
    assert text.order_accuracy(scores, labels, groups) == pytest.approx(brute_force_order_accuracy(scores, labels, groups))
    assert text.order_accuracy(labels.astype(np.float64), labels, groups) == 1.0


def test_preference_pairs_lists_every_less_relevant_row_of_the_group():
    labels = np.array([2, 0, 1, 1, 0, 0], np.float32)
    groups = np.array([0, 0, 0, 1, 1, 2])
    winners, offsets, candidates = text.preference_pairs(labels, groups)
    found = {int(w): sorted(candidates[offsets[p]:offsets[p + 1]].tolist()) for p, w in enumerate(winners)}
    assert found == {0: [1, 2], 2: [1], 3: [4]}


@pytest.mark.parametrize("name, hyper", [("dssm", {"fc_sizes": [16, 8]}),
                                         ("multiview_simnet", {"title_encoder": "cnn", "embedding_dim": 8,
                                                               "hidden_size": 8, "query_encode_dim": 8,
                                                               "title_encode_dim": 8}),
                                         ("match_pyramid", {"emb_size": 8, "pool_size": [2, 3]})])
def test_score_shape(name, hyper):
    model = build_model(name, TextSchema(vocab_size=30), model_params_class(name).model_validate(hyper))
    query, docs = torch.randint(0, 30, (4, 1, 5)), torch.randint(0, 30, (4, 3, 1, 2))  # doc shorter than pools
    assert model.score(query, docs).shape == (4, 3)
    assert model.loss(model.score(query, docs)).dim() == 0


def test_models_check_the_data_views():
    params = model_params_class("multiview_simnet").model_validate({"query_slots": 2})
    with pytest.raises(ConfigError, match="query_slots / title_slots"):
        build_model("multiview_simnet", TextSchema(vocab_size=30), params)
    with pytest.raises(ConfigError, match="dssm reads one text per side"):
        build_model("dssm", TextSchema(vocab_size=30, query_views=2), model_params_class("dssm")())


def planted_config(name: str, folder, epochs: int, **hyper):
    return load_config(raw={"model": name, "runner": {
        "data_format": "synthetic_text_pairs", "synthetic_train_rows": 1500, "synthetic_test_rows": 300,
        "synthetic_seed": 5, "train_batch_size": 32, "epochs": epochs, "print_interval": 10 ** 6,
        "model_save_path": str(folder), "seed": 5}, "hyper_parameters": {"optimizer": {"sparse": False, "learning_rate": 0.01}, **hyper}})


@pytest.mark.parametrize("name, epochs, hyper, threshold", [
    ("dssm", 2, {"fc_sizes": [64, 32]}, 0.92),
    ("multiview_simnet", 3, {"neg_num": 4, "embedding_dim": 32, "hidden_size": 32}, 0.85),
    ("match_pyramid", 3, {"doc_len": 20, "emb_size": 16, "kernel_num": 4, "neg_num": 4}, 0.8)])
def test_learns_the_planted_topic_pairs(tmp_path, name, epochs, hyper, threshold):
    torch.manual_seed(0)
    reports = text.train(planted_config(name, tmp_path, epochs, **hyper))
    assert reports[0]["test"]["order_accuracy"] > 0.6  # random scoring: 0.5
    assert reports[-1]["test"]["order_accuracy"] > threshold
    assert reports[-1]["test"]["auc"] > threshold - 0.05


def test_infer_reproduces_the_trained_epoch(tmp_path):
    torch.manual_seed(0)
    cfg = planted_config("dssm", tmp_path, 1, fc_sizes=[16, 8])
    trained = text.train(cfg)[0]["test"]
    inferred = text.infer(cfg)[0]
    assert inferred == pytest.approx(trained)
    saved = json.loads((tmp_path / "0" / "infer_metrics.json").read_text())
    assert saved["test_rows"] == 300 * 5
    lines = (tmp_path / "0" / "predictions.csv").read_text().splitlines()
    assert lines[0] == "line,query,label,score" and len(lines) == 1 + 300 * 5
