"""Readers for the text models' PaddleRec sample formats: parsed values, and malformed lines named by file:line."""

from __future__ import annotations

import numpy as np
import pytest

from recstack.data.formats.text import TextClassData, read_senta, read_tagspace_csv
from recstack.data.formats.text_pairs import (class_pairs, read_dssm_dense, read_letor, read_simnet_slots,
                                              synthetic_pairs)
from recstack.errors import DataFormatError


def write(tmp_path, text: str, name: str = "data.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tagspace_csv_shifts_ids_pads_and_cuts(tmp_path):
    path = write(tmp_path, "3,17 0 5\n\n0,4 4 4 4 4\n")
    data = read_tagspace_csv(path, max_len=4)
    assert data.labels.tolist() == [3, 0]
    assert data.text.tolist() == [[18, 1, 6, 0], [5, 5, 5, 5]]  # raw id 0 is a word: it becomes 1
    assert data.lines.tolist() == [1, 3]


def test_tagspace_csv_reads_a_folder_in_name_order(tmp_path):
    write(tmp_path, "1,2\n", "b.csv")
    write(tmp_path, "0,1\n", "a.csv")
    assert read_tagspace_csv(tmp_path).labels.tolist() == [0, 1]


@pytest.mark.parametrize("line, problem", [("3 17 5", "expected `label,word_id"), ("x,1 2", "label"),
                                           ("1,2 y 3", "'y'"), ("1,-4 2", "negative word id -4"),
                                           ("2,", "expected `label,word_id")])
def test_tagspace_csv_malformed_lines(tmp_path, line, problem):
    path = write(tmp_path, f"0,1 2\n{line}\n")
    with pytest.raises(DataFormatError, match=rf"data.txt:2: .*{problem}"):
        read_tagspace_csv(path)


def test_senta_reads_only_seq_len_ids(tmp_path):
    data = read_senta(write(tmp_path, "7 8 9 0 0 3 1\n5 0 0 0 0 1 0\n"))
    assert data.text.tolist() == [[8, 9, 10], [6, 0, 0]]
    assert data.labels.tolist() == [1, 0]
    with pytest.raises(DataFormatError, match="data.txt:1: seq_len"):
        read_senta(write(tmp_path, "7 8 9 4 1\n"))


def test_dssm_dense_counts_become_repeated_ids_and_one_group_per_line(tmp_path):
    data = read_dssm_dense(write(tmp_path, "1,0,2\t0,1,0\t1,0,0\t0,0,1\n0,1,0\t1,0,0\t0,0,1\n"))
    assert data.query[:, 0].tolist() == [[1, 3, 3]] * 3 + [[2, 0, 0]] * 2
    assert data.doc[:, 0, 0].tolist() == [2, 1, 3, 1, 3]
    assert data.labels.tolist() == [1, 0, 0, 1, 0]
    assert data.groups.tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("line, problem", [("1,0\t0,1", "at least one negative"), ("1,0\t0,1\t1", "has 1 values"),
                                           ("1,0\t0,1\t0.5,0", "non-negative integers"),
                                           ("1,a\t0,1\t1,0", "comma-separated counts")])
def test_dssm_dense_malformed_lines(tmp_path, line, problem):
    with pytest.raises(DataFormatError, match=rf"data.txt:2: .*{problem}"):
        read_dssm_dense(write(tmp_path, f"1,0\t0,1\t1,1\n{line}\n"))


def test_simnet_slots_views_and_padding(tmp_path):
    data = read_simnet_slots(write(tmp_path, "0:5 0:6 1:7 2:8 2:9 3:1\n"), query_slots=1, title_slots=1)
    assert data.query[:, 0].tolist() == [[6, 7], [6, 7]]
    assert data.doc[:, 0].tolist() == [[8, 0], [9, 10]]
    assert data.labels.tolist() == [1, 0]
    two_views = read_simnet_slots(write(tmp_path, "0:1 1:2 2:3 4:5 5:6\n"), query_slots=2, title_slots=2)
    assert two_views.query.shape == (2, 2, 1) and two_views.doc[0, :, 0].tolist() == [4, 0]  # slot 3 missing
    assert two_views.doc[1, :, 0].tolist() == [6, 7]


@pytest.mark.parametrize("line, problem", [("0:1 1:2", "no negative title"), ("0:1 1-2 2:3", "slot:word_id"),
                                           ("0:1 1:2 2:z", "'z'")])
def test_simnet_slots_malformed_lines(tmp_path, line, problem):
    with pytest.raises(DataFormatError, match=rf"data.txt:1: .*{problem}"):
        read_simnet_slots(write(tmp_path, line + "\n"))


def test_letor_groups_by_query_id(tmp_path):
    data = read_letor(write(tmp_path, "1,2\t3,4,5\t2\tq9\n1,2\t6\t0\tq9\n7\t8\t1\tq3\n"), doc_len=2)
    assert data.groups.tolist() == [0, 0, 1]
    assert data.labels.tolist() == [2.0, 0.0, 1.0]
    assert data.doc[:, 0].tolist() == [[4, 5], [7, 0], [9, 0]]
    with pytest.raises(DataFormatError, match=r"data.txt:1: expected `query_ids"):
        read_letor(write(tmp_path, "1,2\t3,4\n"))
    with pytest.raises(DataFormatError, match=r"data.txt:1: label"):
        read_letor(write(tmp_path, "1,2\t3,4\thigh\tq1\n"))


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(DataFormatError, match="file not found"):
        read_tagspace_csv(tmp_path / "absent.csv")
    with pytest.raises(DataFormatError, match="no samples"):
        read_letor(write(tmp_path, "\n"))


def test_synthetic_pairs_planted_answer_orders_almost_every_pair():
    topics, words = 8, 40
    data = synthetic_pairs(2000, seed=3, negatives=4, topics=topics, words_per_topic=words)
    # the planted rule: the query's majority topic, then count the document's words of that topic
    query = data.query[:, 0]
    topic_of = np.where(query <= topics * words, (query - 1) // words, -1)
    majority = np.array([np.bincount(t[t >= 0], minlength=topics).argmax() if (t >= 0).any() else -1
                         for t in topic_of])
    doc_topic = np.where(data.doc[:, 0] <= topics * words, (data.doc[:, 0] - 1) // words, -1)
    oracle = (doc_topic == majority[:, None]).sum(1)
    positives, negatives = oracle[data.labels == 1], oracle[data.labels == 0].reshape(-1, 4)
    assert (positives[:, None] > negatives).mean() > 0.98
    assert np.array_equal(data.labels.reshape(-1, 5)[:, 0], np.ones(2000))


def test_class_pairs_match_texts_of_one_class_against_others():
    texts = TextClassData(np.arange(1, 13).reshape(6, 2), np.array([0, 0, 1, 1, 2, 2]), np.arange(1, 7))
    data = class_pairs(texts, seed=0, negatives=3, rounds=4)
    assert data.query.shape == (6 * 4 * 4, 1, 2) and data.groups.max() == 6 * 4 - 1
    row_of = {tuple(t): i for i, t in enumerate(texts.text.tolist())}
    query_rows = np.array([row_of[tuple(q)] for q in data.query[:, 0].tolist()])
    doc_rows = np.array([row_of[tuple(d)] for d in data.doc[:, 0].tolist()])
    same_class = texts.labels[query_rows] == texts.labels[doc_rows]
    assert np.array_equal(same_class, data.labels == 1)
    assert (query_rows[data.labels == 1] != doc_rows[data.labels == 1]).all()  # never the query itself
    with pytest.raises(DataFormatError, match="at least 2 classes"):
        class_pairs(TextClassData(texts.text[:3], np.array([0, 0, 1]), np.arange(3)), seed=0)
