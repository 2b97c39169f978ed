"""Loopback load test of `recstack serve`: rank requests of N candidates at a few concurrency levels.

    recstack bench serve [--model deepfm | --artifact DIR] [--candidates 100] [--requests 2000]
                         [--concurrency 1,4,16] [--repeats 3] [--threads 1] [--out docs/benchmarks]

The server runs in a second process (`recstack serve` on 127.0.0.1 and a free port) with an artifact
exported from configs/rank/<model>.yaml (freshly initialised) unless --artifact names one. Each
level sends a fixed number of POST /predict requests, each {"rows": [N raw candidate rows]}, from
that many client threads on keep-alive connections, after a warm-up, --repeats times. Reported per
level: the medians over the repeats of p50 and p99 latency and of requests/s over a run's wall time,
the p99 range, and all runs' errors (non-200 replies or failed connections). Client and server share
the machine's cores, as on a one-box deployment.
Target from issue 5: rank with 100 candidates at p99 <= 5 ms and >= 200 requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from recstack.bench.predict import CONFIGS, machine_info, write_report

TARGET_P99_MS, TARGET_RPS = 5.0, 200.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(artifact: Path, port: int, threads: int, timeout: float = 120.0,
                 command: list[str] | None = None) -> subprocess.Popen:
    """`recstack serve` (or `recstack <command>`, e.g. the MovieLens demo) in a child process; returns once
    GET /health answers."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = command or ["serve", "--model", str(artifact), "--port", str(port), "--threads", str(threads)]
    process = subprocess.Popen([sys.executable, "-m", "recstack.cli", *command], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f}s")


def load(port: int, body: bytes, requests: int, concurrency: int, path: str = "/predict") -> dict:
    """Sends `requests` POST `path` with `body` from `concurrency` threads; latency stats in ms."""
    latencies: list[float] = []
    errors = [0]
    tickets = iter(range(requests))
    lock = threading.Lock()
    headers = {"Content-Type": "application/json"}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if next(tickets, None) is None:
                    return
            start = time.perf_counter()
            try:
                connection.request("POST", path, body, headers)
                reply = connection.getresponse()
                reply.read()
                ok = reply.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed_ms = (time.perf_counter() - start) * 1e3
            with lock:
                if ok:
                    latencies.append(elapsed_ms)
                else:
                    errors[0] += 1

    workers = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    values = np.array(latencies) if latencies else np.array([np.nan])
    return {"concurrency": concurrency, "requests": requests, "errors": errors[0], "seconds": wall,
            "requests_per_second": len(latencies) / wall, "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)), "mean_ms": float(values.mean())}


def median_run(runs: list[dict]) -> dict:
    """Several `load` results of one level -> the medians of their requests/s, p50 and p99, the p99 range and
    the errors of all runs; `runs` keeps them all."""
    def median(key: str) -> float:
        return float(np.median([run[key] for run in runs]))

    return {"concurrency": runs[0]["concurrency"], "requests": runs[0]["requests"], "repeats": len(runs),
            "errors": sum(run["errors"] for run in runs), "requests_per_second": median("requests_per_second"),
            "p50_ms": median("p50_ms"), "p99_ms": median("p99_ms"),
            "p99_ms_range": [min(run["p99_ms"] for run in runs), max(run["p99_ms"] for run in runs)], "runs": runs}


def load_repeated(port: int, body: bytes, requests: int, concurrency: int, repeats: int,
                  path: str = "/predict") -> dict:
    """`repeats` runs of `load` at one concurrency level, summarised by `median_run`."""
    return median_run([load(port, body, requests, concurrency, path) for _ in range(repeats)])


def export_fresh(model: str, out: Path) -> Path:
    """A freshly initialised configs/rank/<model>.yaml model as an artifact (weights do not change the speed)."""
    import torch

    from recstack.config import load_config
    from recstack.data.datasets import build_schema
    from recstack.export.commands import export_model
    from recstack.train.recipes import make_model

    cfg = load_config(CONFIGS / f"{model}.yaml")
    torch.manual_seed(0)
    export_model(cfg, make_model(cfg, build_schema(cfg)), out, {"initialized": True})
    return out


def request_body(artifact: Path, candidates: int) -> bytes:
    from recstack.export.predictor import Predictor

    return json.dumps({"rows": Predictor(artifact).encoder.example_rows(candidates, seed=7)}).encode()


def work_per_request_ms(artifact: Path, body: bytes, threads: int, calls: int = 300) -> dict:
    """The server's own work for one request, timed in this process without HTTP: parse the JSON,
    encode the rows, score them. What is left of the HTTP latency is the transport and waiting for a core."""
    import orjson

    from recstack.export.predictor import Predictor

    predictor = Predictor(artifact, threads)
    times = []
    for _ in range(calls + 20):
        start = time.perf_counter()
        orjson.dumps(predictor.predict_rows(orjson.loads(body)["rows"])[:, 0].tolist())
        times.append((time.perf_counter() - start) * 1e3)
    times = np.array(times[20:])
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def run(artifact: Path, candidates: int, requests: int, levels: list[int], threads: int, repeats: int = 3,
        warmup: int = 100) -> dict:
    body = request_body(artifact, candidates)
    work = work_per_request_ms(artifact, body, threads)
    port = free_port()
    load_before = os.getloadavg()[0]
    server = start_server(artifact, port, threads)
    try:
        load(port, body, warmup, 1)
        results = [load_repeated(port, body, requests, level, repeats) for level in levels]
    finally:
        server.terminate()
        server.wait(timeout=30)
    manifest = json.loads((artifact / "manifest.json").read_text())
    return {"model": manifest["model"], "runtime": manifest["runtime"], "candidates": candidates,
            "body_bytes": len(body), "server_threads": threads, "work_per_request": work, "results": results,
            "target": {"p99_ms": TARGET_P99_MS, "requests_per_second": TARGET_RPS},
            "machine": machine_info(load_before)}


def machine_sentence(m: dict) -> str:
    """The machine line of a loopback latency report (machine_info's fields)."""
    return (f"Machine: {m['cpu']}, {m['cores']} cores shared by server and client (nice {m['nice']}), load "
            f"{m['loadavg_before']:.2f} -> {m['loadavg_after']:.2f} (other jobs included), {m['date']}.")


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["# Serving latency: `recstack serve` on loopback", "", f"Command: `{result['command']}`", "",
             f"{machine_sentence(m)} Model: {result['model']} ({result['runtime']}, "
             f"{result['server_threads']} thread), one uvicorn process; each request scores {result['candidates']} raw "
             f"candidate rows ({result['body_bytes']:,} bytes of JSON). Target (issue 5): p99 <= "
             f"{TARGET_P99_MS:g} ms at >= {TARGET_RPS:g} requests/s. The server's own work per request (JSON parse, "
             f"row encoding, scoring; timed in-process without HTTP): p50 {result['work_per_request']['p50_ms']:.2f} ms, "
             f"p99 {result['work_per_request']['p99_ms']:.2f} ms. Requests/s, p50 and p99 are the medians of the "
             f"level's runs.", "",
             "| concurrency | runs x requests | errors | requests/s | p50 ms | p99 ms | p99 ms, range | meets target |",
             "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["results"]:
        met = r["p99_ms"] <= TARGET_P99_MS and r["requests_per_second"] >= TARGET_RPS and r["errors"] == 0
        low, high = r["p99_ms_range"]
        lines.append(f"| {r['concurrency']} | {r['repeats']} x {r['requests']} | {r['errors']} | "
                     f"{r['requests_per_second']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {low:.2f}-{high:.2f} | "
                     f"{'yes' if met else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="recstack bench serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="deepfm", help="exported fresh from configs/rank/<model>.yaml")
    parser.add_argument("--artifact", default=None, help="an artifact from recstack export instead")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2000, help="per concurrency level and run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per level; the table shows their medians")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--threads", type=int, default=1, help="server onnxruntime threads")
    parser.add_argument("--out", default="docs/benchmarks")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    with tempfile.TemporaryDirectory() as workdir:
        artifact = Path(args.artifact) if args.artifact else export_fresh(args.model, Path(workdir) / args.model)
        result = run(artifact, args.candidates, args.requests, [int(c) for c in args.concurrency.split(",")],
                     args.threads, args.repeats)
    result["command"] = shlex.join(["recstack", "bench", "serve", *argv])
    write_report(Path(args.out), "serve", result, markdown(result))
    return result


if __name__ == "__main__":
    main()
