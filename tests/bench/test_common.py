"""Results files several benchmark invocations update at once."""

import json
import multiprocessing
from pathlib import Path

import pytest

from recstack.bench.common import REPO, RESULTS_DIR, readme_for, replace_block, update_results


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


def test_replace_block_rewrites_only_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- t -->\nold table\n<!-- /t -->\noutro\n")
    replace_block(readme, "t", "new table\n")
    replace_block(readme, "t", "newer table")  # the markers stay, so it can be written again
    assert readme.read_text() == "intro\n<!-- t -->\nnewer table\n<!-- /t -->\noutro\n"
    with pytest.raises(ValueError, match=r"README.md: no '<!-- other -->'"):
        replace_block(readme, "other", "x")


def test_only_the_committed_results_rewrite_the_repo_readme(tmp_path: Path) -> None:
    assert readme_for(RESULTS_DIR) == REPO / "README.md" and readme_for(tmp_path) is None
    text = (REPO / "README.md").read_text()
    for block in ("recstack bench rank", "recstack bench recall"):  # the blocks the benchmarks write exist
        assert f"<!-- {block} -->" in text and f"<!-- /{block} -->" in text
