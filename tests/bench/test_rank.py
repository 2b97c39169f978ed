"""`recstack bench rank`: committed configs for every rank model, the merged JSON, the markdown, and the
quality regression guard against the values docs/benchmarks/rank.json records."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from recstack.bench.common import config_digest
from recstack.bench.rank import (BARS_FRAPPE, DATASETS, aggregate, base_model, config_path, guard_floor, is_done, main,
                                 markdown, rank_models, readme_summary, run_config, train_and_test, variants)
from recstack.cli import main as cli_main
from recstack.data.datasets import load_data

REPO = Path(__file__).resolve().parents[2]
RECORDED = REPO / "docs" / "benchmarks" / "rank.json"
GUARD_MODELS = ["fm", "deepfm", "dcn"]  # lr is too far from converged in 4 epochs to guard (seed std 0.05)


@pytest.mark.parametrize("dataset", ["frappe", "ml100k"])
def test_every_rank_model_has_a_committed_config_with_the_bars_recipe(dataset, tmp_path):
    for model in rank_models() + variants(dataset):  # a variant tunes its model's settings, never the recipe
        cfg = run_config(dataset, model, seed=1, threads=1, out=tmp_path)
        assert cfg.model == base_model(model)
        assert cfg.runner.restore_best_weights and cfg.runner.lr_decay_on_plateau == 0.1
        assert cfg.runner.early_stop_patience == 2 and cfg.runner.train_batch_size == 4096
        optimizer = cfg.hyper_parameters.optimizer
        assert optimizer.embedding_table_l2 > 0 and not optimizer.sparse
        assert cfg.hyper_parameters.sparse_feature_dim == 10 or model in variants(dataset)
        # validation never comes from the test rows
        assert cfg.runner.valid_data_dir is not None if dataset == "frappe" else cfg.runner.valid_fraction > 0
    assert set(BARS_FRAPPE) <= set(rank_models())


def test_every_rank_model_has_its_own_config_for_the_synthetic_table(tmp_path):
    # the synthetic rows train from configs/rank/<model>.yaml (afn once had only frappe/ml100k configs)
    for model in rank_models():
        cfg = run_config("synthetic", model, seed=1, threads=1, out=tmp_path)
        assert cfg.model == model and cfg.runner.data_format == "synthetic"


def test_ml100k_validation_rows_come_from_train_and_the_test_split_is_the_issues(tmp_path):
    cfg = run_config("ml100k", "deepfm", seed=1, threads=1, out=tmp_path)
    data = load_data(cfg, train=True, test=True, valid=True)
    assert data.train.num_rows + data.valid.num_rows == 80_367 and data.test.num_rows == 19_633
    lines = {name: set(store.columns["line"].tolist()) for name, store in
             (("train", data.train), ("valid", data.valid), ("test", data.test))}
    assert lines["valid"].isdisjoint(lines["test"]) and lines["valid"].isdisjoint(lines["train"])
    assert 0.09 < data.valid.num_rows / 80_367 < 0.11


def test_aggregate_matches_statistics():
    runs = {str(s): {"auc": a, "logloss": 0.1 * a, "train_samples_per_s": 1000.0 + s, "epochs": 10, "parameters": 7}
            for s, a in [(1, 0.90), (2, 0.92), (3, 0.97)]}
    summary = aggregate(runs)
    assert summary["seeds"] == [1, 2, 3] and summary["parameters"] == 7
    assert summary["auc"] == pytest.approx(statistics.mean([0.90, 0.92, 0.97]))
    assert summary["auc_std"] == pytest.approx(statistics.stdev([0.90, 0.92, 0.97]))
    assert guard_floor(summary) == pytest.approx(summary["auc"] - 3 * summary["auc_std"])
    one = aggregate({"5": runs["1"]})
    assert one["auc_std"] == 0.0 and guard_floor(one) == pytest.approx(0.90 - 0.003)  # the std floor


def test_markdown_compares_with_bars_and_names_rows_short_of_three_seeds():
    run = {"logloss": 0.15, "train_samples_per_s": 5e4, "epochs": 12, "parameters": 60000, "oracle_auc": None}
    results = {"environment": {"torch": "2.13.0"}, "runs": {"frappe": {
        "deepfm": {str(s): {**run, "auc": 0.9839 + d} for s, d in [(1, 0.0), (2, 0.0002), (3, -0.0002)]},
        "lr": {"1": {**run, "auc": 0.9300}}}}}
    text = markdown(results)
    assert "| deepfm | 3 | 0.9839 ± 0.0002 |" in text and "| 0.9839 | +0.0000 |" in text
    assert "| lr | 1 | 0.9300 |" in text and "lr (-0.0056)" in text
    assert "Rows with fewer than 3 seeds: lr (1)." in text
    assert "Best at or above BARS' best 0.9861: no" in text and "torch 2.13.0" in text
    assert "fm" in text.split("Models not run on this dataset:")[1]


def test_readme_summary_tables_every_model_and_states_what_it_meets():
    run = {"logloss": 0.15, "train_samples_per_s": 5e4, "epochs": 12, "parameters": 60000, "oracle_auc": None}
    results = {"runs": {
        "frappe": {"finalmlp": {str(s): {**run, "auc": 0.9860 + d} for s, d in [(1, 0.0), (2, 0.0002), (3, 0.0004)]},
                   "lr": {"1": {**run, "auc": 0.9300}}},
        "ml100k": {"deepfm": {"1": {**run, "auc": 0.7950}}},
        "synthetic": {"lr": {"1": {**run, "auc": 0.70, "oracle_auc": 0.79}}}}}
    text = readme_summary(results)
    assert text.startswith("| model |") and text.count("\n| ") == len(rank_models())  # a row per model
    assert "| finalmlp | 0.9862 ± 0.0002 (3) | 0.9861 | +0.0001 | – | – |" in text
    assert "| lr | 0.9300 (1) | 0.9356 | -0.0056 | – | 0.7000 (1) |" in text
    assert text.index("| finalmlp |") < text.index("| lr |") < text.index("| deepfm |")  # Frappe AUC order
    assert "1 of the 11 BARS models are within 0.002" in text and "(finalmlp, 0.9862) is at or above" in text
    assert "DeepFM 0.7950" in text and "teacher reaches 0.7900" in text
    results["runs"]["frappe"]["finalmlp.emb32"] = {"1": {**run, "auc": 0.9870}}
    text = readme_summary(results)
    assert "| finalmlp.emb32 | 0.9870 (1) |  |  | – | – |" in text and "Rows finalmlp.emb32 train the model" in text
    assert "(finalmlp.emb32, 0.9870) is at or above" in text and text.count("\n| ") == len(rank_models()) + 1


def test_variants_are_rows_of_their_own_configs_only_where_they_exist(tmp_path):
    assert "finalmlp.emb32" in variants("frappe") and variants("synthetic") == []
    assert base_model("finalmlp.emb32") == "finalmlp" and base_model("finalmlp") == "finalmlp"
    assert all(v not in rank_models() and base_model(v) in rank_models() for v in variants("frappe"))
    for argv in (["--models", "finalmlp.nosuch", "--datasets", "frappe"],  # no such variant
                 ["--models", "finalmlp.emb32", "--datasets", "guard"]):  # a Frappe variant, no guard config
        with pytest.raises(SystemExit):
            main([*argv, "--out", str(tmp_path)])
    assert not (tmp_path / "rank.json").exists()


def test_report_only_rewrites_the_reports_without_training(tmp_path):
    page = ["--models-page", str(tmp_path / "models.md")]
    with pytest.raises(SystemExit):
        main(["--report-only", "--out", str(tmp_path), *page])  # no rank.json yet
    run = {"auc": 0.9, "logloss": 0.3, "train_samples_per_s": 1e4, "epochs": 3, "parameters": 10, "oracle_auc": None}
    (tmp_path / "rank.json").write_text(json.dumps({"runs": {"guard": {"lr": {"1": run}}}}))
    main(["--report-only", "--out", str(tmp_path), *page])
    assert "| lr | 1 | 0.9000 |" in (tmp_path / "rank.md").read_text() and (tmp_path / "models.md").exists()


def test_skip_done_reruns_a_cell_whose_config_changed(tmp_path):
    path = tmp_path / "rank.json"
    path.write_text(json.dumps({"runs": {"frappe": {"lr": {"1": {"auc": 0.93, "config_sha": "aaa"},
                                                           "2": {"auc": 0.93}}}}}))
    assert is_done(path, "frappe", "lr", 1, "aaa") and not is_done(path, "frappe", "lr", 1, "bbb")
    assert not is_done(path, "frappe", "lr", 2, "bbb")  # no digest: cannot tell which config made it
    assert not is_done(path, "frappe", "lr", 3, "aaa") and not is_done(path, "ml100k", "lr", 1, "aaa")
    assert config_digest(config_path("frappe", "lr")) != config_digest(config_path("ml100k", "lr"))


def test_runs_merge_into_the_json_and_rerun_resumes(tmp_path):
    page = ["--models-page", str(tmp_path / "models.md")]
    cli_main(["bench", "rank", "--models", "lr", "--datasets", "guard", "--seeds", "1", "--out", str(tmp_path), *page])
    main(["--models", "lr", "--datasets", "guard", "--seeds", "1,2", "--out", str(tmp_path), "--skip-done", *page])
    results = json.loads((tmp_path / "rank.json").read_text())
    runs = results["runs"]["guard"]["lr"]
    assert set(runs) == {"1", "2"} and all(0.5 < r["auc"] <= 1 for r in runs.values())
    assert runs["1"]["oracle_auc"] > runs["1"]["auc"]
    assert {"torch", "cpu", "threads"} <= set(results["environment"])
    assert "| lr | 2 |" in (tmp_path / "rank.md").read_text()
    models = (tmp_path / "models.md").read_text()
    assert models.count("\n| ") == len(rank_models()) + 1  # header + one row per model
    assert "| deepfm | DeepFM (Guo et al.," in models and "[frappe](../configs/rank/frappe/deepfm.yaml)" in models
    assert "[frappe emb32](../configs/rank/frappe/finalmlp.emb32.yaml)" in models  # a tuned variant's config
    with pytest.raises(SystemExit):
        main(["--models", "nosuchmodel", "--out", str(tmp_path)])


@pytest.mark.parametrize("model", GUARD_MODELS)
def test_quality_has_not_regressed_below_the_recorded_auc(model, tmp_path):
    recorded = json.loads(RECORDED.read_text())["runs"].get("guard", {}).get(model)
    assert recorded, f"no guard rows for {model} in {RECORDED}: run `recstack bench rank --datasets guard`"
    summary = aggregate(recorded)
    cfg = run_config("guard", model, seed=summary["seeds"][0], threads=1, out=tmp_path)
    run = train_and_test(cfg, load_data(cfg, train=True, test=True, valid=True))
    assert run["auc"] >= guard_floor(summary), (
        f"{model}: test AUC {run['auc']:.4f} fell more than 3 std below the recorded {summary['auc']:.4f} "
        f"± {summary['auc_std']:.4f} ({DATASETS['guard'].title})")
