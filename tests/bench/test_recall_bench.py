"""recstack bench recall: mean ± std per model and dataset, reports merged across invocations, exact commands."""

from __future__ import annotations

import json

import pytest

from recstack.bench.recall import run_overrides, summarize, write_report


def run(model, seed, recall, dataset="ml1m", command="recstack bench recall --models x"):
    return {"model": model, "dataset": dataset, "seed": seed, "epoch": 4, "epochs_run": 5,
            "test": {"recall@20": recall, "ndcg@20": recall / 2}, "seconds": 10.0,
            "command": f"recstack train -m configs/recall/{model}.yaml -o runner.seed={seed}",
            "bench_command": command}


def test_summary_mean_and_sample_std():
    rows = summarize([run("bpr_mf", 1, 0.2), run("bpr_mf", 2, 0.3), run("lightgcn", 1, 0.25)])
    bpr = next(r for r in rows if r["model"] == "bpr_mf")
    mean, std = bpr["metrics"]["recall@20"]
    assert mean == pytest.approx(0.25) and std == pytest.approx(0.0707107, abs=1e-6)
    assert next(r for r in rows if r["model"] == "lightgcn")["metrics"]["recall@20"][1] == 0.0


def test_reports_merge_across_invocations_and_name_commands(tmp_path):
    write_report(tmp_path, [run("bpr_mf", 1, 0.2, command="recstack bench recall --models bpr_mf")], "")
    write_report(tmp_path, [run("sasrec", 1, 0.05, "beauty", "recstack bench recall --models sasrec"),
                            run("bpr_mf", 1, 0.22, command="recstack bench recall --models bpr_mf")], "")
    saved = json.loads((tmp_path / "recall.json").read_text())
    assert sorted((r["model"], r["test"]["recall@20"]) for r in saved["runs"]) == [("bpr_mf", 0.22), ("sasrec", 0.05)]
    text = (tmp_path / "recall.md").read_text()
    assert "`recstack bench recall --models bpr_mf`" in text and "`recstack bench recall --models sasrec`" in text
    assert "| bpr_mf | ml1m | 1 | 5 | 0.2200 ± 0.0000 |" in text
    few = next(line for line in text.splitlines() if line.startswith("Fewer than 3 seeds"))
    assert "bpr_mf/ml1m" in few and "sasrec/beauty" in few


def test_overrides_name_the_dataset_only_when_it_is_not_the_configs_own():
    assert run_overrides("lightgcn", "ml1m", 7, None) == ["runner.seed=7"]
    moved = run_overrides("sasrec", "ml100k", 7, 3)
    assert "runner.data_format=movielens_sequence" in moved and "runner.epochs=3" in moved
