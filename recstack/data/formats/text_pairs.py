"""Query-document samples for the matching models (DSSM, MultiView-SimNet, Match-Pyramid).

Every format becomes one table of scored (query, document) rows: `labels` is the document's relevance to
the query and `groups` ties the rows of one query together. Training compares documents of one group
(a more relevant one against less relevant ones); evaluation ranks them.

    dssm_dense     PaddleRec's DSSM sample: tab-separated fields `query  pos_doc  neg_doc_1 ... neg_doc_N`,
                   each a comma-separated count vector over the trigram vocabulary (index i, count c ->
                   c copies of token i + 1). A line is a group: the positive at label 1, negatives at 0.
    simnet_slots   PaddleRec's MultiView-SimNet sample: `slot:word_id` tokens; slots 0..Q-1 are the query
                   views, Q..Q+T-1 the positive title's, Q+T..Q+2T-1 the negative title's (Q, T =
                   hyper_parameters query_slots, title_slots). A missing slot is an empty view.
    letor          Match-Pyramid's labelled Letor rows: `query_ids \\t doc_ids \\t label \\t query_id`,
                   ids comma-separated, label a relevance grade (0, 1, 2, ...).
    class_pairs    labelled texts in the tagspace_csv format (`label,w w ...`, e.g. AG News) matched by topic:
                   `class_pairs` pairs every text with another text of its class against texts of others
                   (training data: 10 rounds of fresh partners per text, test data: one).
    synthetic_text_pairs  `synthetic_pairs`: topic-word texts with a planted answer (no file).

Word ids are shifted by one (0 = padding), as in recstack.data.formats.text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recstack.data.formats.text import TextClassData, numbered_lines, pad, parse_ids
from recstack.errors import DataFormatError


@dataclass
class TextPairData:
    query: np.ndarray  # [N, Vq, Lq] int64, one padded id row per query view
    doc: np.ndarray  # [N, Vd, Ld] int64
    labels: np.ndarray  # [N] float32 relevance of the doc to the query
    groups: np.ndarray  # [N] int64, rows of one query share a group
    lines: np.ndarray  # [N] line number of the row's source line


def _stack_views(rows: list[list[list[int]]], max_len: int | None) -> np.ndarray:
    views = len(rows[0])
    flat = pad([view for row in rows for view in row], max_len)
    return flat.reshape(len(rows), views, flat.shape[1])


class _Rows:
    """Accumulates (query views, doc views, label, group, line) rows."""

    def __init__(self):
        self.query, self.doc, self.labels, self.groups, self.lines = [], [], [], [], []

    def add(self, query: list[list[int]], doc: list[list[int]], label: float, group: int, line: int) -> None:
        self.query.append(query)
        self.doc.append(doc)
        self.labels.append(label)
        self.groups.append(group)
        self.lines.append(line)

    def build(self, path: str | Path, query_len: int | None, doc_len: int | None) -> TextPairData:
        if not self.labels:
            raise DataFormatError(path, None, "no samples")
        return TextPairData(_stack_views(self.query, query_len), _stack_views(self.doc, doc_len),
                            np.asarray(self.labels, np.float32), np.asarray(self.groups, np.int64),
                            np.asarray(self.lines, np.int64))


def _count_vector(file: Path, number: int, field: str, width: int | None) -> list[int]:
    try:
        counts = np.asarray(field.split(","), dtype=np.float64)
    except ValueError:
        raise DataFormatError(file, number, "expected comma-separated counts in every tab-separated field") from None
    if width is not None and len(counts) != width:
        raise DataFormatError(file, number, f"a field has {len(counts)} values, the first had {width}")
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise DataFormatError(file, number, "counts must be non-negative integers")
    return np.repeat(np.arange(1, len(counts) + 1), counts.astype(np.int64)).tolist()


def read_dssm_dense(path: str | Path, query_len: int | None = None, doc_len: int | None = None) -> TextPairData:
    rows, width = _Rows(), None
    for group, (file, number, line) in enumerate(numbered_lines(path)):
        fields = line.split("\t")
        if len(fields) < 3:
            raise DataFormatError(file, number, f"expected query, positive doc and at least one negative doc "
                                                f"(tab-separated), found {len(fields)} field(s)")
        width = width or len(fields[0].split(","))
        query, *docs = [_count_vector(file, number, f, width) for f in fields]
        for i, doc in enumerate(docs):
            rows.add([query], [doc], 1.0 if i == 0 else 0.0, group, number)
    return rows.build(path, query_len, doc_len)


def read_simnet_slots(path: str | Path, query_slots: int = 1, title_slots: int = 1, query_len: int | None = None,
                      doc_len: int | None = None) -> TextPairData:
    rows, total = _Rows(), query_slots + 2 * title_slots
    for group, (file, number, line) in enumerate(numbered_lines(path)):
        views: list[list[str]] = [[] for _ in range(total)]
        for token in line.split():
            slot, sep, word = token.partition(":")
            if not sep or not slot.isdigit():
                raise DataFormatError(file, number, f"expected `slot:word_id` tokens, found {token!r}")
            if int(slot) < total:  # other slots are not part of this model (PaddleRec skips them too)
                views[int(slot)].append(word)
        ids = [parse_ids(file, number, v, f"slot {s}") for s, v in enumerate(views)]
        query, positive, negative = ids[:query_slots], ids[query_slots:-title_slots], ids[-title_slots:]
        if not any(negative):
            raise DataFormatError(file, number, f"no negative title: slots {query_slots + title_slots}.."
                                                f"{total - 1} are all missing")
        rows.add(query, positive, 1.0, group, number)
        rows.add(query, negative, 0.0, group, number)
    return rows.build(path, query_len, doc_len)


def read_letor(path: str | Path, query_len: int | None = None, doc_len: int | None = None) -> TextPairData:
    rows, query_ids = _Rows(), {}
    for file, number, line in numbered_lines(path):
        fields = line.split("\t")
        if len(fields) != 4:
            raise DataFormatError(file, number, f"expected `query_ids \\t doc_ids \\t label \\t query_id`, found "
                                                f"{len(fields)} tab-separated field(s)")
        if not fields[2].strip().isdigit():
            raise DataFormatError(file, number, f"label: expected a relevance grade 0, 1, 2, ..., found {fields[2]!r}")
        query = parse_ids(file, number, fields[0].split(","), "query")
        doc = parse_ids(file, number, fields[1].split(","), "doc")
        group = query_ids.setdefault(fields[3].strip(), len(query_ids))
        rows.add([query], [doc], float(fields[2]), group, number)
    return rows.build(path, query_len, doc_len)


def synthetic_pairs(groups: int, seed: int, negatives: int = 4, topics: int = 8, words_per_topic: int = 40,
                    noise_words: int = 200, query_len: int = 6, doc_len: int = 20) -> TextPairData:
    """Planted answer: each topic owns `words_per_topic` words; a query draws half its words from its topic,
    a document 30% from its own (the rest from shared noise words). Each group is one query, one document
    of its topic (label 1) and `negatives` of other topics (label 0), so counting the document's words from
    the query's topic orders almost every pair right (a tie only when the positive drew no topic word:
    0.7^doc_len of groups, 0.08% at 20 words)."""
    rng = np.random.default_rng(seed)

    def texts(topic: np.ndarray, length: int, share: float) -> np.ndarray:
        own = 1 + topic[:, None] * words_per_topic + rng.integers(0, words_per_topic, (len(topic), length))
        noise = 1 + topics * words_per_topic + rng.integers(0, noise_words, (len(topic), length))
        return np.where(rng.random((len(topic), length)) < share, own, noise)

    query_topic = rng.integers(0, topics, groups)
    offsets = rng.integers(1, topics, (groups, negatives))  # another topic for every negative
    doc_topic = np.concatenate([query_topic[:, None], (query_topic[:, None] + offsets) % topics], axis=1)
    per_group = negatives + 1
    query = np.repeat(texts(query_topic, query_len, 0.5), per_group, axis=0)
    doc = texts(doc_topic.reshape(-1), doc_len, 0.3)
    labels = np.tile(np.eye(1, per_group, dtype=np.float32)[0], groups)
    group = np.repeat(np.arange(groups), per_group)
    return TextPairData(query[:, None, :], doc[:, None, :], labels, group, group + 1)


def class_pairs(texts: TextClassData, seed: int, negatives: int = 4, query_len: int | None = None,
                doc_len: int | None = None, rounds: int = 1) -> TextPairData:
    """Topic matching from labelled texts: each text is a query `rounds` times; each time one other text of
    its class is the relevant document (label 1) and `negatives` texts of other classes are not (label 0),
    drawn at random. Group g = round * N + text."""
    rng, labels = np.random.default_rng(seed), texts.labels
    classes = np.unique(labels)
    if len(classes) < 2 or min(np.sum(labels == c) for c in classes) < 2:
        raise DataFormatError("class_pairs", None, "needs at least 2 classes with at least 2 texts each")
    rows = np.arange(len(labels))
    partners = np.empty((rounds, len(rows), negatives + 1), dtype=np.int64)  # relevant first
    for c in classes:
        members, others = rows[labels == c], rows[labels != c]
        shift = rng.integers(1, len(members), (rounds, len(members)))  # another member: never the query itself
        partners[:, members, 0] = members[(np.arange(len(members)) + shift) % len(members)]
        partners[:, members, 1:] = rng.choice(others, (rounds, len(members), negatives))
    per_group, queries = negatives + 1, np.tile(rows, rounds)
    query = np.repeat(texts.text[queries][:, :query_len or None], per_group, axis=0)
    doc = texts.text[partners.reshape(-1)][:, :doc_len or None]
    return TextPairData(query[:, None, :], doc[:, None, :], np.tile(np.eye(1, per_group, dtype=np.float32)[0],
                                                                    len(queries)),
                        np.repeat(np.arange(len(queries)), per_group), np.repeat(texts.lines[queries], per_group))


PAIR_READERS = {"dssm_dense": read_dssm_dense, "simnet_slots": read_simnet_slots, "letor": read_letor}
