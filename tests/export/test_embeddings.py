"""export-embeddings + retrieve on planted data: 8 groups of 20 items, each user walks their group's items."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recstack.cli import main

GROUPS, GROUP_SIZE, USERS = 8, 20, 400


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("emb")
    rng = np.random.default_rng(0)
    lines = []
    for user in range(USERS):
        group, start, length = rng.integers(GROUPS), rng.integers(GROUP_SIZE), rng.integers(8, 13)
        items = group * GROUP_SIZE + (start + np.arange(length)) % GROUP_SIZE + 1
        lines.append(" ".join(map(str, [user + 1000, *items])))  # raw user ids 1000.. to check the id mapping
    (root / "walks.txt").write_text("\n".join(lines) + "\n")
    config = root / "bpr.yaml"
    config.write_text(json.dumps({
        "model": "bpr_mf",
        "runner": {"data_format": "user_items", "train_data_dir": str(root / "walks.txt"), "train_batch_size": 256,
                   "epochs": 10, "eval_interval": 10, "model_save_path": str(root / "model"), "topk": [10],
                   "seed": 1, "progress_bar": False},
        "hyper_parameters": {"sparse_feature_dim": 16, "num_negatives": 4, "optimizer": {"learning_rate": 0.02}}}))
    assert main(["train", "-m", str(config)]) == 0
    return root, config


def test_export_writes_vectors_with_raw_ids_and_an_index_close_to_exact(trained, capsys):
    root, config = trained
    assert main(["export-embeddings", "-m", str(config), "--epoch", "9", "--k", "20", "--out", str(root / "emb")]) == 0
    out = root / "emb"
    items, item_ids = np.load(out / "items.npy"), np.load(out / "item_ids.npy")
    users, user_ids = np.load(out / "users.npy"), np.load(out / "user_ids.npy")
    assert items.shape == (GROUPS * GROUP_SIZE, 16) and sorted(item_ids.tolist()) == list(range(1, 161))
    assert users.shape == (USERS, 16) and sorted(user_ids.tolist()) == list(range(1000, 1000 + USERS))
    report = json.loads((out / "index_report.json").read_text())
    assert report["recall@20"] >= 0.95 and report["build_s"] > 0 and report["batched_qps"] > 0
    assert "recall@20" in capsys.readouterr().out


def test_retrieve_returns_the_users_group(trained, tmp_path):
    root, config = trained
    main(["export-embeddings", "-m", str(config), "--epoch", "9", "--out", str(root / "emb2")])
    walks = {int(line.split()[0]): [int(i) for i in line.split()[1:]]
             for line in (root / "walks.txt").read_text().splitlines()}
    assert main(["retrieve", "--embeddings", str(root / "emb2"), "--all", "--k", "10",
                 "--out", str(tmp_path / "top.csv")]) == 0
    rows = (tmp_path / "top.csv").read_text().splitlines()[1:]
    assert len(rows) == USERS
    in_group = []
    for row in rows:
        user, items, _ = row.split(",")
        group = (walks[int(user)][0] - 1) // GROUP_SIZE
        in_group.append(np.mean([(int(i) - 1) // GROUP_SIZE == group for i in items.split()]))
    assert np.mean(in_group) > 0.8  # random: 1/8


def test_retrieve_names_an_unknown_user(trained, capsys):
    root, config = trained
    main(["export-embeddings", "-m", str(config), "--epoch", "9", "--out", str(root / "emb3")])
    assert main(["retrieve", "--embeddings", str(root / "emb3"), "--users", "1000,5"]) == 2
    assert "unknown user id(s) [5]" in capsys.readouterr().err
