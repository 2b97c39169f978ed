"""The README's worked examples print what the README says they print (its figures went stale once)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from recstack.cli import main

REPO = Path(__file__).resolve().parents[1]
CRITEO_HEAD = REPO.parent / "shared" / "data" / "criteo" / "kaggle_train_head900.txt.gz"


def test_the_export_predict_serve_example_prints_the_quoted_auc_and_score(tmp_path, capsys):
    readme = (REPO / "README.md").read_text()
    quoted_auc = re.search(r"#   900 samples scored in .*, click/auc (\d\.\d{6}); scores: scores\.csv", readme)
    quoted_score = re.search(r'#   \{"scores":\{"click":\[(0\.\d+)\]\}\}', readme)
    assert quoted_auc and quoted_score, "the README's export/predict/serve example has moved; update this test"
    options = ["-m", str(REPO / "configs" / "rank" / "deepfm.yaml"), "-o", f"runner.model_save_path={tmp_path / 'ckpt'}",
               "-o", f"runner.cache_dir={tmp_path / 'cache'}", "-o", "runner.progress_bar=false"]
    assert main(["train", *options]) == 0
    assert main(["export", *options, "--out", str(tmp_path / "artifact")]) == 0
    capsys.readouterr()
    scores_csv = tmp_path / "scores.csv"
    assert main(["predict", "--model", str(tmp_path / "artifact"), "--data", str(CRITEO_HEAD),
                 "--out", str(scores_csv)]) == 0
    assert f"click/auc {quoted_auc.group(1)}" in capsys.readouterr().out
    # the served score of the file's first line is its predict score (same artifact, same encoding); training's
    # thread count moves it by ~2e-5 (float sums in another order), a stale figure by far more
    assert abs(pl.read_csv(scores_csv)["click"][0] - float(quoted_score.group(1))) < 1e-4
