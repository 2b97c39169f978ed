"""`recstack export` and `recstack predict` from the command line: scores, AUC, atomic output, errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from recstack.cli import main

REPO = Path(__file__).resolve().parents[2]
CRITEO_HEAD = REPO.parent / "shared" / "data" / "criteo" / "kaggle_train_head900.txt.gz"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("predict")
    options = ["-m", str(REPO / "configs" / "rank" / "fm.yaml"), "-o", f"runner.model_save_path={tmp / 'ckpt'}",
               "-o", f"runner.cache_dir={tmp / 'cache'}", "-o", "runner.progress_bar=false",
               "-o", "hyper_parameters.sparse_feature_number=10007"]
    assert main(["train", *options]) == 0
    assert main(["export", *options, "--out", str(tmp / "artifact")]) == 0
    return tmp / "artifact"


def test_predict_writes_one_score_per_sample_and_prints_the_auc(artifact, tmp_path, capsys):
    out = tmp_path / "scores" / "scores.csv"
    assert main(["predict", "--model", str(artifact), "--data", str(CRITEO_HEAD), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    scores = pl.read_csv(out)
    labels = [int(line.split("\t")[0]) for line in gzip.open(CRITEO_HEAD, "rt").read().splitlines()]
    assert scores.height == 900 and scores["line"].to_list() == list(range(1, 901))
    assert f"click/auc {roc_auc_score(labels, scores['click'].to_numpy()):.6f}" in printed
    assert not [p for p in out.parent.iterdir() if p.name != "scores.csv"]  # no temporary file left behind
    # batching changes nothing
    assert main(["predict", "--model", str(artifact), "--data", str(CRITEO_HEAD), "--out", str(tmp_path / "b7.csv"),
                 "--batch-size", "7", "--threads", "2"]) == 0
    np.testing.assert_allclose(pl.read_csv(tmp_path / "b7.csv")["click"].to_numpy(), scores["click"].to_numpy(),
                               atol=1e-6)


def test_a_malformed_line_names_file_and_line(artifact, tmp_path, capsys):
    lines = gzip.open(CRITEO_HEAD, "rt").read().splitlines()[:5]
    lines[2] = lines[2].replace("\t", "\tx", 1)  # I1 is no longer an integer
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scores.csv"
    assert main(["predict", "--model", str(artifact), "--data", str(bad), "--out", str(out)]) == 2
    assert f"{bad}:3: column I1 must be an integer" in capsys.readouterr().err
    assert not out.exists()


def test_predict_refuses_what_is_not_an_artifact_or_a_file(artifact, tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path), "--data", str(CRITEO_HEAD)]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert main(["predict", "--model", str(artifact), "--data", str(tmp_path / "missing.txt")]) == 2
    assert "no such file" in capsys.readouterr().err
