"""Content models learn planted text classes through `recstack train` / `recstack infer` on tagspace_csv files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from recstack.cli import main
from recstack.errors import ConfigError
from recstack.models.base import build_model, model_params_class
from recstack.models.content.base import TextSchema

NOISE = 30  # raw word ids 0..29 are noise; 30 and 31 are the planted words A and B


def ordered_pair_texts(rows: int, seed: int) -> list[str]:
    """Label 1: the text holds `A B`, label 0: `B A`, at a random place among 10 noise words. Both classes have
    the same bag of words, so only word order (a width-2 convolution) separates them."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(rows):
        label, words, at = int(rng.integers(0, 2)), rng.integers(0, NOISE, 10).tolist(), int(rng.integers(0, 11))
        words[at:at] = [NOISE, NOISE + 1] if label else [NOISE + 1, NOISE]
        lines.append(f"{label},{' '.join(map(str, words))}")
    return lines


def keyword_texts(rows: int, seed: int, classes: int = 4) -> list[str]:
    """Class c: 2 of its 5 keywords (raw ids 30 + 5c ..) among 8 noise words."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(rows):
        label = int(rng.integers(0, classes))
        words = rng.integers(0, NOISE, 8).tolist() + (NOISE + 5 * label + rng.integers(0, 5, 2)).tolist()
        lines.append(f"{label},{' '.join(map(str, rng.permutation(words)))}")
    return lines


def run(tmp_path, model: str, texts, epochs: int, hyper: dict) -> dict:
    (tmp_path / "train.csv").write_text("\n".join(texts(1200, 1)) + "\n")
    (tmp_path / "test.csv").write_text("\n".join(texts(400, 2)) + "\n")
    config = {"model": model, "runner": {
        "data_format": "tagspace_csv", "train_data_dir": "train.csv", "test_data_dir": "test.csv", "epochs": epochs,
        "train_batch_size": 32, "print_interval": 10 ** 6, "model_save_path": "out", "topk": [2],
        "infer_start_epoch": epochs - 1, "seed": 3},
        "hyper_parameters": {"optimizer": {"learning_rate": 0.01, "sparse": False}, **hyper}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    torch.manual_seed(0)
    assert main(["train", "-m", str(tmp_path / "config.yaml")]) == 0
    assert main(["infer", "-m", str(tmp_path / "config.yaml")]) == 0
    return json.loads((tmp_path / "out" / str(epochs - 1) / "infer_metrics.json").read_text())


def test_textcnn_learns_word_order_that_a_bag_of_words_cannot_see(tmp_path):
    metrics = run(tmp_path, "textcnn", ordered_pair_texts, 3,
                  {"emb_dim": 16, "cnn_dim": 16, "cnn_filter_sizes": [2], "hid_dim": 16, "dropout": 0.0})
    assert metrics["accuracy"] > 0.95 and metrics["test_rows"] == 400
    predictions = (tmp_path / "out" / "2" / "predictions.csv").read_text().splitlines()
    assert predictions[0] == "line,label,predicted,score" and len(predictions) == 401


def test_tagspace_ranks_the_planted_tag_first(tmp_path):
    metrics = run(tmp_path, "tagspace", keyword_texts, 3, {"emb_dim": 16, "hid_dim": 32, "win_size": 2})
    assert metrics["accuracy"] > 0.9
    assert metrics["recall@2"] >= metrics["accuracy"]


def test_class_dim_smaller_than_the_data_is_a_config_error():
    params = model_params_class("textcnn").model_validate({"class_dim": 2})
    with pytest.raises(ConfigError, match="class_dim"):
        build_model("textcnn", TextSchema(vocab_size=10, num_classes=4), params)


def test_wrong_data_format_names_the_key(tmp_path):
    config = {"model": "tagspace", "runner": {"data_format": "letor", "train_data_dir": "x"}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", "-m", str(tmp_path / "c.yaml")]) == 2
