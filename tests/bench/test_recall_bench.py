"""`recstack bench recall`: the models and datasets it covers, the overrides of each run, results merged run by run
and resumed with --skip-done, the per-dataset markdown with its unsupported cells, and the quality guard that
re-trains a few small models against docs/benchmarks/recall_guard.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from recstack.bench import recall as bench
from recstack.bench.common import config_digest
from recstack.bench.recall import (DATASETS, GUARD_MODELS, SETTINGS, TABLED, UNSUPPORTED, guard_floor, is_done,
                                   load_run_config, load_runs, main, markdown, merge_run, own_dataset, planned,
                                   readme_summary, recall_models, run_overrides, summarize, train_command)
from recstack.models.base import available_models
from recstack.train.recall import is_recall_model

REPO = Path(__file__).resolve().parents[2]
GUARD_FILE = REPO / "docs" / "benchmarks" / "recall_guard.json"


def run(model, seed, value, dataset="ml1m", command="recstack bench recall --models x", overrides=None):
    metrics = ("recall@20", "ndcg@20") if dataset == "ml1m" else ("hr@10", "ndcg@10", "hr@20", "ndcg@20")
    return {"model": model, "dataset": dataset, "seed": seed, "epoch": 4, "epochs_run": 5,
            "test": {m: value / (i + 1) for i, m in enumerate(metrics)}, "seconds": 10.0, "cpu_seconds": 9.0,
            "command": "OMP_NUM_THREADS=1 " + train_command(model, overrides or [f"runner.seed={seed}"]),
            "bench_command": command, "config_sha": digest_of(model)}


def digest_of(model):
    """The digest a run of `model` would record now (None for the made-up models some tests name)."""
    config = bench.config_path(model)
    return config_digest(config) if config.exists() else None


def test_summary_mean_and_sample_std():
    rows = summarize([run("bpr_mf", 1, 0.2), run("bpr_mf", 2, 0.3), run("lightgcn", 1, 0.25)])
    bpr = next(r for r in rows if r["model"] == "bpr_mf")
    mean, std = bpr["metrics"]["recall@20"]
    assert mean == pytest.approx(0.25) and std == pytest.approx(0.0707107, abs=1e-6)
    assert bpr["seeds"] == [1, 2] and bpr["cpu_seconds"] == 9.0
    assert next(r for r in rows if r["model"] == "lightgcn")["metrics"]["recall@20"][1] == 0.0


def test_all_models_are_every_recall_model_with_a_config():
    models = recall_models()
    registered = sorted(name for name in available_models() if is_recall_model(name))
    assert models == registered and len(models) >= 20  # no recall model lacks a config, none drops out
    assert "movielens_two_tower" not in models  # the demo's feature model trains on the demo's tables
    assert set(GUARD_MODELS) <= set(models)


def test_every_cell_loads_or_is_unsupported_with_a_reason():
    for model, dataset in UNSUPPORTED:
        assert model in recall_models() and dataset in TABLED and UNSUPPORTED[model, dataset]
    for model, dataset in SETTINGS:
        assert model in recall_models() and dataset in DATASETS
    for model in recall_models():
        for dataset in TABLED:
            if (model, dataset) not in UNSUPPORTED:
                cfg = load_run_config(model, run_overrides(model, dataset, 1, None))
                assert cfg.runner.eval_protocol == "full"
                assert cfg.runner.topk == ([20] if dataset == "ml1m" else [10, 20])
                assert (cfg.runner.test_data_dir is not None) == (dataset == "ml1m")


def test_overrides_name_only_what_the_config_lacks():
    assert run_overrides("lightgcn", "ml1m", 7, None) == ["runner.seed=7"]
    moved = run_overrides("sasrec", "ml100k", 7, 3)
    assert "runner.data_format=movielens_sequence" in moved and "runner.epochs=3" in moved
    assert "runner.test_data_dir=null" not in moved  # sasrec's config already has none
    assert run_overrides("gmf", "ml100k", 7, None) == ["runner.eval_protocol=full", "runner.topk=[10,20]",
                                                       "runner.epochs=200", "runner.eval_interval=5",
                                                       "runner.early_stop_patience=3", "runner.seed=7"]
    assert "hyper_parameters.mask_prob=0.6" in run_overrides("bert4rec", "beauty", 7, None)


def test_iterative_models_converge_on_leave_one_out_data():
    """Up to 200 (50) epochs early-stopped on validation on ml100k (beauty); a closed-form fit (epochs 1) stays one
    epoch, ML-1M (no validation split) keeps the config's epochs, and --epochs still wins."""
    for dataset, epochs, patience in (("ml100k", 200, 3), ("beauty", 50, 2)):
        cfg = load_run_config("bpr_mf", run_overrides("bpr_mf", dataset, 1, None))
        assert (cfg.runner.epochs, cfg.runner.eval_interval, cfg.runner.early_stop_patience) == (epochs, 5, patience)
        assert load_run_config("ease", run_overrides("ease", dataset, 1, None)).runner.epochs == 1
    assert load_run_config("bpr_mf", run_overrides("bpr_mf", "ml1m", 1, None)).runner.epochs == 15
    assert load_run_config("bpr_mf", run_overrides("bpr_mf", "ml100k", 1, 4)).runner.epochs == 4


def test_own_dataset_is_the_configs():
    assert [own_dataset(m) for m in ("lightgcn", "sasrec", "gmf", "srgnn")] == ["ml1m", "beauty", "ml100k", None]
    assert list(planned(["lightgcn", "srgnn"], ["own"], [1, 2])) == [("lightgcn", "ml1m", 1), ("lightgcn", "ml1m", 2)]


def test_unsupported_cells_are_left_out_seed_by_seed():
    cells = list(planned(["tisasrec", "bpr_mf"], ["ml1m", "ml100k"], [1, 2]))
    assert cells == [("bpr_mf", "ml1m", 1), ("tisasrec", "ml100k", 1), ("bpr_mf", "ml100k", 1),
                     ("bpr_mf", "ml1m", 2), ("tisasrec", "ml100k", 2), ("bpr_mf", "ml100k", 2)]


def test_markdown_has_a_section_per_dataset_with_unsupported_rows_and_marks():
    runs = [run("bpr_mf", s, 0.2 + 0.01 * s) for s in (1, 2, 3)] + [run("lightgcn", 1, 0.25)]
    runs += [run("sasrec", 1, 0.05, "beauty")]
    text = markdown(summarize(runs), recall_models(), {"torch": "2.13.0"})
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert [s.split(":")[0] for s in sections] == ["## ml1m", "## ml100k", "## beauty", "## Commands"]
    ml1m, ml100k, beauty = (text.split(s)[1].split("\n## ")[0] for s in sections[:3])
    assert "| bpr_mf | 3 | 5 | 0.2200 ± 0.0100 | 0.1100 ± 0.0050 |" in ml1m
    assert "| lightgcn | 1* | 5 | 0.2500 | 0.1250 |" in ml1m and "fewer than 3 seeds: lightgcn." in ml1m
    assert ml1m.index("| lightgcn |") < ml1m.index("| bpr_mf |")  # best first
    assert "UltraGCN Recall@20 0.2787, NDCG@20 0.2642" in ml1m and "ICLRec HR@10 0.0744" in beauty
    for section in (ml1m, beauty):
        assert "| tisasrec | – | – |" in section and "not supported: reads interaction times" in section
    assert "| tisasrec |" not in ml100k and "Not run yet: " + ", ".join(recall_models()) + "." in ml100k
    assert "itemcf" in ml1m.split("Not run yet:")[1] and "bpr_mf" not in ml1m.split("Not run yet:")[1]
    assert "- `OMP_NUM_THREADS=1 recstack train -m configs/recall/bpr_mf.yaml -o runner.seed=2`" in text
    assert "- `recstack bench recall --models x`" in text


def test_readme_summary_shows_the_top_rows_and_every_published_one():
    runs = [run(f"m{i}", 1, 0.30 - 0.01 * i) for i in range(7)] + [run("lightgcn", s, 0.01 * s) for s in (1, 2)]
    text = readme_summary(summarize(runs))
    assert "**ml1m** (the top 5 and the models with a published figure, of 8 run so far; UltraGCN" in text
    assert "| m0 | 1 | 0.3000 | 0.1500 |" in text and "| m4 |" in text and "| m5 |" not in text
    assert "| lightgcn | 2 | 0.0150 ± 0.0071 |" in text and "LightGCN Recall@20 0.2576" in text  # published, shown
    assert "(2 more rows in recall.md.)" in text and "**ml100k**" not in text  # datasets without runs are left out


def fake_runs(monkeypatch, record: list):
    """run_one replaced by a record of its calls returning a made-up run."""
    def fake(model, dataset, seed, epochs, threads):
        record.append((model, dataset, seed))
        return run(model, seed, 0.1 * seed, dataset, overrides=run_overrides(model, dataset, seed, epochs))
    monkeypatch.setattr(bench, "run_one", fake)


def test_runs_merge_at_once_and_skip_done_resumes(tmp_path, monkeypatch):
    calls: list = []
    fake_runs(monkeypatch, calls)
    main(["--models", "bpr_mf,itemcf", "--datasets", "ml100k", "--seeds", "1,2", "--out", str(tmp_path)])
    assert calls == [("bpr_mf", "ml100k", 1), ("itemcf", "ml100k", 1), ("bpr_mf", "ml100k", 2), ("itemcf", "ml100k", 2)]
    calls.clear()

    def alongside(model, dataset, seed, epochs, threads):  # another invocation merges a run while this one works
        merge_run(tmp_path / "recall.json", run("ease", 1, 0.3, "ml100k"))
        calls.append((model, dataset, seed))
        return run(model, seed, 0.5, dataset, overrides=run_overrides(model, dataset, seed, epochs))

    monkeypatch.setattr(bench, "run_one", alongside)
    main(["--models", "bpr_mf,itemcf", "--datasets", "ml100k", "--seeds", "1,2,3", "--out", str(tmp_path),
          "--skip-done"])
    assert calls == [("bpr_mf", "ml100k", 3), ("itemcf", "ml100k", 3)]
    runs = load_runs(tmp_path / "recall.json")
    assert sorted((r["model"], r["seed"]) for r in runs) == [("bpr_mf", 1), ("bpr_mf", 2), ("bpr_mf", 3),
                                                             ("ease", 1), ("itemcf", 1), ("itemcf", 2), ("itemcf", 3)]
    assert all(r["bench_command"].startswith("recstack bench recall --models bpr_mf,itemcf") for r in runs
               if r["model"] != "ease")
    text = (tmp_path / "recall.md").read_text()
    assert "| bpr_mf | 3 |" in text and "| ease | 1* |" in text
    calls.clear()
    main(["--models", "bpr_mf", "--datasets", "ml100k", "--seeds", "1", "--out", str(tmp_path)])
    assert calls == [("bpr_mf", "ml100k", 1)]  # without --skip-done a run is redone and replaces its earlier one
    assert len(load_runs(tmp_path / "recall.json")) == 7
    calls.clear()
    main(["--models", "bpr_mf", "--datasets", "ml100k", "--seeds", "1,2", "--epochs", "1", "--out", str(tmp_path),
          "--skip-done"])
    assert calls == [("bpr_mf", "ml100k", 1), ("bpr_mf", "ml100k", 2)]  # done with other overrides: not done
    assert [r["command"] for r in load_runs(tmp_path / "recall.json")][-1].endswith(
        "-o runner.seed=2 -o runner.epochs=1 -o runner.infer_start_epoch=0 -o runner.infer_end_epoch=1")


def test_a_run_is_done_only_by_the_same_command_whatever_the_threads(tmp_path):
    path = tmp_path / "recall.json"
    merge_run(path, run("bpr_mf", 1, 0.2, overrides=run_overrides("bpr_mf", "ml1m", 1, None)))
    two = run("bpr_mf", 2, 0.2, overrides=run_overrides("bpr_mf", "ml1m", 2, None))
    merge_run(path, {**two, "command": two["command"].replace("OMP_NUM_THREADS=1", "OMP_NUM_THREADS=2")})
    assert is_done(path, "bpr_mf", "ml1m", 1, None) and is_done(path, "bpr_mf", "ml1m", 2, None)
    assert not is_done(path, "bpr_mf", "ml1m", 1, 3) and not is_done(path, "bpr_mf", "ml100k", 1, None)


def test_a_run_from_an_edited_config_is_not_done(tmp_path, monkeypatch):
    config = tmp_path / "bpr_mf.yaml"
    config.write_text(bench.config_path("bpr_mf").read_text())
    monkeypatch.setattr(bench, "config_path", lambda model: config)
    path, overrides = tmp_path / "recall.json", run_overrides("bpr_mf", "ml1m", 1, None)
    merge_run(path, run("bpr_mf", 1, 0.2, overrides=overrides))
    assert is_done(path, "bpr_mf", "ml1m", 1, None)
    config.write_text(config.read_text().replace("epochs:", "epochs: 7 #"))
    assert not is_done(path, "bpr_mf", "ml1m", 1, None)
    undigested = {k: v for k, v in run("bpr_mf", 1, 0.2, overrides=overrides).items() if k != "config_sha"}
    merge_run(path, undigested)  # no digest: cannot tell which config made it
    assert not is_done(path, "bpr_mf", "ml1m", 1, None)


def test_guard_runs_go_to_their_own_file(tmp_path, monkeypatch):
    calls: list = []
    fake_runs(monkeypatch, calls)
    main(["--datasets", "guard", "--seeds", "1", "--out", str(tmp_path)])
    assert calls == [(m, "guard", 1) for m in GUARD_MODELS]
    assert len(load_runs(tmp_path / "recall_guard.json")) == 3 and not (tmp_path / "recall.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--models", "nosuchmodel"], "valid: all, als,"),
    (["--datasets", "ml1m,ml20m"], "unknown ml20m; valid: all, own, ml1m, ml100k, beauty, guard"),
    (["--models", "lightgcn", "--datasets", "guard"], "the guard runs bpr_mf, itemcf, sasrec only"),
])
def test_unknown_names_are_an_error_naming_the_valid_ones(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("model", GUARD_MODELS)
def test_quality_has_not_regressed_below_the_recorded_guard(model):
    recorded = [r for r in load_runs(GUARD_FILE) if r["model"] == model]
    assert len(recorded) >= 3, f"{model}: fewer than 3 guard runs in {GUARD_FILE}: run `recstack bench recall " \
                               f"--datasets guard`"
    row = summarize(recorded)[0]
    fresh = bench.run_one(model, "guard", recorded[0]["seed"], None, 1)
    assert fresh["command"] == recorded[0]["command"], "the guard settings changed: re-record the guard"
    for metric in DATASETS["guard"].columns:
        mean, std = row["metrics"][metric]
        assert fresh["test"][metric] >= guard_floor(row, metric), (
            f"{model}: test {metric} {fresh['test'][metric]:.4f} fell more than 3 std below the recorded "
            f"{mean:.4f} ± {std:.4f} ({DATASETS['guard'].title})")


def test_report_only_rewrites_the_table_without_training(tmp_path, monkeypatch, capsys):
    calls: list = []
    fake_runs(monkeypatch, calls)
    with pytest.raises(SystemExit):
        main(["--report-only", "--out", str(tmp_path)])  # no results file yet
    assert "no results file" in capsys.readouterr().err
    main(["--models", "bpr_mf", "--datasets", "ml100k", "--seeds", "1,2", "--out", str(tmp_path)])
    (tmp_path / "recall.md").unlink()
    calls.clear()
    main(["--report-only", "--out", str(tmp_path)])
    assert calls == [] and "| bpr_mf | 2* |" in (tmp_path / "recall.md").read_text()
