"""Results files several benchmark invocations update at once."""

import json
import multiprocessing
from pathlib import Path

from recstack.bench.common import update_results


def add_runs(path: Path, name: str, count: int) -> None:
    for index in range(count):
        update_results(path, lambda results: {"runs": {**results["runs"], f"{name}{index}": index}},
                       empty=lambda: {"runs": {}})


def test_parallel_updates_keep_every_run(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    workers = [multiprocessing.get_context("fork").Process(target=add_runs, args=(path, name, 25)) for name in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(json.loads(path.read_text())["runs"]) == sorted(f"{n}{i}" for n in "ab" for i in range(25))


def test_reports_see_the_written_contents(tmp_path: Path) -> None:
    path, seen = tmp_path / "out" / "results.json", []
    update_results(path, lambda results: {"runs": {**results["runs"], "x": 1}}, empty=lambda: {"runs": {}},
                   reports=seen.append)
    assert seen == [{"runs": {"x": 1}}] and json.loads(path.read_text()) == seen[0]
