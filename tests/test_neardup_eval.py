"""Precision and recall floors of near-duplicate detection on the labelled evaluation set.

The set (bench/neardup_eval.py) is generated from our own writing, the seeds
and, when ../shared/data is present, real article bodies. The floors sit a
little under the figures measured with the default settings (docs/benchmarks.md), so a
change that loses recall or adds a false link fails here.
"""

from __future__ import annotations

import pytest

from bench.neardup_eval import EDIT_KINDS, SAME_TOPIC_KIND, build_set, evaluate
from pipelines.neardup.minhash import Thresholds
from pipelines.neardup.index import NearDupSettings

# Recall floor per edit kind, with the default settings.
RECALL_FLOORS = {
    "lead_rewritten": 0.9, "tail_cut": 0.95, "reordered": 0.95, "synonyms_10": 0.95,
    "synonyms_20": 0.6, "synonyms_30": 0.0, "boilerplate": 0.95, "excerpt": 0.8,
}
DEFAULTS = NearDupSettings()


@pytest.fixture(scope="module", params=["own", "with_real"])
def evaluation(request, shared_data_or_none):
    with_real = request.param == "with_real"
    if with_real and shared_data_or_none is None:
        pytest.skip("../shared/data is absent: evaluated on our own texts and the seeds only")
    docs = build_set(with_real=with_real)
    return evaluate(docs, DEFAULTS.shingle_size, DEFAULTS.num_perm, DEFAULTS.candidate_threshold, DEFAULTS.thresholds)


@pytest.fixture(scope="module")
def shared_data_or_none():
    from tests.conftest import SHARED_DATA

    return SHARED_DATA if (SHARED_DATA / "qdnd-crawler-bodies").is_dir() else None


def test_defaults_match_the_settings_file():
    from scrapy.settings import Settings

    from crawler import settings as project_settings

    assert NearDupSettings.from_settings(Settings(vars(project_settings))) == DEFAULTS


@pytest.mark.parametrize("kind", EDIT_KINDS)
def test_recall_floor_per_edit_kind(evaluation, kind):
    score = evaluation.scores[kind]
    assert score.docs > 0
    assert score.recall >= RECALL_FLOORS[kind], f"{kind}: recall {score.recall:.2f}"
    assert score.precision == 1.0, evaluation.wrong


def test_no_false_links(evaluation):
    assert evaluation.scores[SAME_TOPIC_KIND].docs >= 3
    assert evaluation.total().wrong_links == 0, evaluation.wrong


def test_the_two_seeds_do_not_link():
    docs = [doc for doc in build_set(with_real=False) if doc.kind == "base" and doc.key.startswith("seed_")]
    assert len(docs) == 2
    result = evaluate(docs, thresholds=Thresholds(jaccard=DEFAULTS.thresholds.jaccard))
    assert result.total().links == 0
