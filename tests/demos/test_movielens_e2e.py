"""`recstack demo movielens` end to end on the real ML-100k: the command builds everything and serves; headless
Chromium (Debian's `chromium`; .ci/run installs it) loads the page, its JavaScript asks for recommendations, and
the rendered page must list ten movies for a new 25-year-old female student and for a known user; then the
same with the feature store in Redis. The build trains both models (about a minute on this machine): it runs in
the default suite, because it is the test that shows the whole system works; the latency-bench check is slow."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from recstack.bench.serve import free_port, start_server

ML100K = Path(__file__).resolve().parents[3] / "shared" / "data" / "ml-100k"


def rendered_page(url: str, profile_dir: Path) -> str:
    """The page's DOM after its scripts ran (virtual time lets the fetches finish before the dump)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile_dir}",
                           "--virtual-time-budget=30000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def shown_movies(html: str) -> list[dict[str, str]]:
    movies = []
    for item in re.findall(r'<li class="movie" data-movie-id="\d+">(.*?)</li>', html, flags=re.S):
        movies.append({name: unescape(text) for name, text in re.findall(r'<div class="(\w+)">(.*?)</div>', item)})
    return movies


def status(html: str) -> str:
    return unescape(re.search(r'<p id="status"[^>]*>(.*?)</p>', html, flags=re.S)[1])


def check_page(port: int, profile_dir: Path) -> None:
    page = rendered_page(f"http://127.0.0.1:{port}/?gender=F&age=25&occupation=student", profile_dir)
    movies = shown_movies(page)
    assert status(page) == "10 movies for a new user (F, 25, student)", page[-3000:]
    assert len(movies) == 10 and len({m["title"] for m in movies}) == 10
    assert all(m["title"] and m["genres"] and m["score"].startswith("like ") for m in movies)
    assert all(re.fullmatch(r"(liked by \d+ women aged 25-34|for women aged 25-34 who work as student)", m["reason"])
               for m in movies), [m["reason"] for m in movies]
    page = rendered_page(f"http://127.0.0.1:{port}/?user_id=7", profile_dir)
    movies = shown_movies(page)
    assert status(page).startswith("10 movies for user 7 (M, 56, administrator")
    assert len(movies) == 10 and all(m["reason"].startswith("because you liked ") for m in movies)


def test_the_demo_command_serves_the_page_with_sqlite_then_redis(tmp_path, redis_url):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    if not ML100K.is_dir():
        pytest.skip(f"no MovieLens-100k at {ML100K}")
    out = tmp_path / "demo"
    for store in (None, redis_url):
        port = free_port()
        command = ["demo", "movielens", "--data", str(ML100K), "--out", str(out), "--port", str(port)]
        server = start_server(out, port, threads=1, timeout=3600, command=command + (["--store", store] if store else []))
        try:
            check_page(port, tmp_path / "chromium")
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert (out / "evaluation.json").is_file() and (out / "rank" / "model.onnx").is_file()


@pytest.mark.slow
def test_the_latency_bench_loads_every_endpoint_without_errors(tiny_demo):
    from recstack.demos.movielens import bench

    _, out, _ = tiny_demo
    result = bench.run(out, None, requests=40, levels=[1, 3], threads=1, warmup=5)
    endpoints = ["rank", "recommend (known user)", "recommend (new user)"]
    assert [(r["endpoint"], r["concurrency"]) for r in result["results"]] == [(e, c) for e in endpoints for c in (1, 3)]
    assert all(r["errors"] == 0 and r["requests"] == 40 and 0 < r["p50_ms"] <= r["p99_ms"] and r["server_cpu_ms"] > 0
               for r in result["results"])
    table = bench.markdown({**result, "command": "recstack bench demo-serve"})
    assert table.count("\n| rank |") == 2 and table.count("\n| recommend (new user) |") == 2
