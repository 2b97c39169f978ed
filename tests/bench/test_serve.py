"""`recstack bench serve`: the load generator counts latencies and errors; the full run serves from a child process."""

from __future__ import annotations

import json
import threading
import time

import pytest
import torch
import uvicorn

from recstack.bench import serve as bench
from recstack.bench.predict import CONFIGS
from recstack.config import load_config
from recstack.data.datasets import build_schema
from recstack.export.commands import export_model
from recstack.export.predictor import Predictor
from recstack.serve.app import create_app
from recstack.train.recipes import make_model


def small_artifact(tmp_path):
    cfg = load_config(CONFIGS / "lr.yaml", ["hyper_parameters.sparse_feature_number=1000"])
    torch.manual_seed(0)
    export_model(cfg, make_model(cfg, build_schema(cfg)), tmp_path / "artifact", {"initialized": True})
    return tmp_path / "artifact"


def test_load_measures_successes_and_counts_errors(tmp_path):
    artifact = small_artifact(tmp_path)
    port = bench.free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Predictor(artifact)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        good = bench.load(port, bench.request_body(artifact, 10), requests=40, concurrency=3)
        bad = bench.load(port, b'{"rows": [{"I1": 1}]}', requests=10, concurrency=2)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert good["errors"] == 0 and good["requests_per_second"] > 0 and 0 < good["p50_ms"] <= good["p99_ms"]
    assert bad["errors"] == 10 and bad["requests_per_second"] == 0


def one_run(concurrency: int, rps: float, p50: float, p99: float, errors: int = 0) -> dict:
    return {"concurrency": concurrency, "requests": 10, "errors": errors, "requests_per_second": rps,
            "p50_ms": p50, "p99_ms": p99}


def test_a_level_reports_the_median_of_its_runs_and_every_error():
    level = bench.median_run([one_run(1, 300.0, 2.0, 9.0), one_run(1, 250.0, 3.0, 4.0, errors=1),
                              one_run(1, 280.0, 2.5, 4.5)])
    assert (level["requests_per_second"], level["p50_ms"], level["p99_ms"]) == (280.0, 2.5, 4.5)
    assert level["p99_ms_range"] == [4.0, 9.0] and level["errors"] == 1 and level["repeats"] == 3
    assert len(level["runs"]) == 3 and level["requests"] == 10


def test_markdown_says_whether_the_target_is_met():
    result = {"command": "recstack bench serve", "model": "lr", "runtime": "onnx", "candidates": 100,
              "body_bytes": 1000, "server_threads": 1, "work_per_request": {"p50_ms": 1.0, "p99_ms": 2.0},
              "machine": {"cpu": "x", "cores": 2, "nice": 0, "loadavg_before": 0.0, "loadavg_after": 0.0, "date": "d"},
              "results": [bench.median_run([one_run(1, 300.0, 2.0, 4.0), one_run(1, 310.0, 2.0, 6.0)]),
                          bench.median_run([one_run(4, 400.0, 4.0, 9.0)])]}
    rows = [line for line in bench.markdown(result).splitlines() if line.startswith("| 1 ") or line.startswith("| 4 ")]
    assert rows[0] == "| 1 | 2 x 10 | 0 | 305 | 2.00 | 5.00 | 4.00-6.00 | yes |"  # the median p99 is 5.0 ms
    assert rows[1] == "| 4 | 1 x 10 | 0 | 400 | 4.00 | 9.00 | 9.00-9.00 | no |"


@pytest.mark.slow
def test_bench_serve_runs_the_server_in_a_second_process(tmp_path):
    artifact = small_artifact(tmp_path)
    result = bench.main(["--artifact", str(artifact), "--candidates", "20", "--requests", "50", "--repeats", "2",
                         "--concurrency", "1,2", "--out", str(tmp_path / "out")])
    assert [r["errors"] for r in result["results"]] == [0, 0]
    assert 0 < result["work_per_request"]["p50_ms"] <= result["work_per_request"]["p99_ms"]
    assert json.loads((tmp_path / "out" / "serve.json").read_text())["candidates"] == 20
    assert "| 2 | 2 x 50 | 0 |" in (tmp_path / "out" / "serve.md").read_text()
