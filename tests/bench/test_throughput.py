import json

from recstack.bench.throughput import main
from recstack.cli import build_parser
from recstack.cli import main as cli_main


def test_bench_writes_json_and_markdown(tmp_path, capsys):
    argv = ["bench", "--rows", "3000", "--train-rows", "2000", "--models", "dnn,deepfm", "--batch-sizes", "256,512",
            "--repeats", "2", "--infer-batch-size", "1024", "--threads", "1", "--gemm-size", "128",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    main(build_parser().parse_args(argv))
    result = json.loads((tmp_path / "out" / "throughput.json").read_text())
    assert {"command", "settings", "machine", "oracle_auc_test", "parse_lines_per_s", "cache_read_samples_per_s",
            "train_samples_per_s", "infer_samples_per_s", "flops_per_sample", "test_auc", "peers"} <= set(result)
    machine = result["machine"]
    assert machine["torch_threads"] == 1 and machine["gemm_gflops"]["fp32"] > 0 and machine["memory_bandwidth_gbs"]["copy"] > 0
    assert result["settings"]["rows"] == 3000 and result["settings"]["test_rows"] == 300
    assert set(result["train_samples_per_s"]) == set(result["infer_samples_per_s"]) == {"dnn", "deepfm"}
    assert set(result["train_samples_per_s"]["dnn"]) == {"256", "512"}
    figures = [result["parse_lines_per_s"], result["cache_read_samples_per_s"], *result["infer_samples_per_s"].values()]
    figures += [f for by_batch in result["train_samples_per_s"].values() for f in by_batch.values()]
    for f in figures:
        assert len(f["runs"]) == 2 and all(r > 0 for r in f["runs"])
        assert 0 < f["min"] <= f["median"] <= f["max"]
    # DeepFM's FM term and wider MLP input cost more FLOPs per sample than the DNN
    assert result["flops_per_sample"]["deepfm"]["forward"] > result["flops_per_sample"]["dnn"]["forward"] > 0
    assert all(0 <= auc <= 1 for auc in result["test_auc"].values())
    markdown = (tmp_path / "out" / "throughput.md").read_text()
    assert result["command"] in markdown and "of bound" in markdown
    assert build_parser().parse_args(result["command"].split()[1:2] + result["command"].split()[3:]).rows == 3000
    assert "| train deepfm, batch 512" in capsys.readouterr().out


def test_throughput_suite_and_reuse_of_generated_data(tmp_path):
    argv = ["bench", "throughput", "--rows", "500", "--train-rows", "500", "--repeats", "1", "--models", "dnn",
            "--batch-sizes", "256", "--gemm-size", "64", "--cache-dir", str(tmp_path / "cache"),
            "--out", str(tmp_path / "out")]
    assert cli_main(argv) == 0
    train_file = tmp_path / "cache" / "criteo-500" / "train.txt"
    mtime = train_file.stat().st_mtime_ns
    assert cli_main(argv) == 0
    assert train_file.stat().st_mtime_ns == mtime
