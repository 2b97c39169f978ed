"""`recstack bench predict`: both engines measured at every batch size, agreeing scores, honest tables."""

from __future__ import annotations

import json

from recstack.cli import main


def test_bench_predict_reports_every_engine_and_batch_size(tmp_path, capsys):
    argv = ["bench", "predict", "--models", "lr,dnn", "--batch-sizes", "1,16", "--repeats", "3",
            "--min-seconds", "0.005", "-o", "hyper_parameters.sparse_feature_number=1000",
            "-o", "hyper_parameters.fc_sizes=[16]", "--out", str(tmp_path)]
    assert main(argv) == 0
    result = json.loads((tmp_path / "predict.json").read_text())
    seen = {(r["model"], r["batch_size"], r["engine"]) for r in result["results"]}
    engines = {"onnxruntime", "onnxruntime + rows", "pytorch eager"}
    assert seen == {(m, b, e) for m in ("lr", "dnn") for b in (1, 16) for e in engines}
    for r in result["results"]:
        assert len(r["runs"]) == 3 and 0 < r["min"] <= r["median"] <= r["max"]
        assert r["max_abs_diff_vs_pytorch"] <= 1e-5
    table = (tmp_path / "predict.md").read_text()
    assert "recstack bench predict --models lr,dnn" in table and table.count("\n| dnn |") == 2
    assert "| lr | 1 |" in table and table in capsys.readouterr().out
