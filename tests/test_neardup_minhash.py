"""The MinHash building blocks: shingles, signatures, buckets and the link decision."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.neardup_eval import excerpt
from bench.neardup_texts import BASES, SAME_TOPIC
from pipelines.neardup.bucket_index import BucketIndex
from pipelines.neardup.minhash import (
    Banding, Signature, Signer, Thresholds, containment, judge, shingle_hashes, shingles,
)
from pipelines.neardup.index import NearDupConfigError, NearDupSettings


def test_shingles_are_lowercased_syllables_without_punctuation():
    assert shingles("Đảng ủy Tổng cục, Kỹ thuật.", 3) == {"đảng ủy tổng", "ủy tổng cục", "tổng cục kỹ", "cục kỹ thuật"}
    assert shingles("Hai từ", 3) == {"hai từ"}
    assert shingles("  ", 3) == set()


def test_signature_round_trips_through_the_database_blob():
    signature = Signer().sign(BASES["mua_lu_hue"])
    again = Signature.from_blob(signature.to_blob(), signature.size)
    assert again.minhash.jaccard(signature.minhash) == 1.0 and len(signature.to_blob()) == 128 * 4


def test_containment_estimate():
    # A ⊂ B with |A| = 30, |B| = 100: J = 0.3, containment of A in B = 1.
    assert containment(0.3, 30, 100) == pytest.approx(1.0)
    assert containment(0.0, 30, 100) == 0.0
    assert containment(0.5, 0, 10) == 0.0


def test_a_short_excerpt_links_by_containment_and_a_same_topic_article_does_not():
    signer, thresholds = Signer(), Thresholds()
    base = signer.sign(BASES["cau_rach_mieu"])
    short = signer.sign(excerpt(BASES["cau_rach_mieu"], share=0.2))
    match = judge(short, base, 1, thresholds)
    assert match is not None and match.method == "containment" and match.jaccard < thresholds.jaccard
    assert judge(signer.sign(SAME_TOPIC["cau_rach_mieu"]), base, 1, thresholds) is None


def test_buckets_find_a_copy_and_not_an_unrelated_text():
    signer, banding, index = Signer(), Banding(), BucketIndex()
    base = signer.sign(BASES["hoi_sach_hn"])
    index.add(1, banding.buckets(base))
    assert banding.bands * banding.rows <= 128 and len(set(banding.buckets(base))) == banding.bands
    copy = signer.sign(BASES["hoi_sach_hn"].replace("Hội sách", "Ngày hội sách"))
    assert index.members(banding.buckets(copy)) == {1}
    assert index.members(banding.buckets(signer.sign(BASES["mua_lu_hue"]))) == set()
    index.merge()  # the same answers from the sorted arrays as from the recent dict
    assert index.members(banding.buckets(copy)) == {1}
    assert index.members(banding.buckets(signer.sign(BASES["mua_lu_hue"]))) == set()


def test_band_keys_of_many_signatures_match_one_at_a_time():
    signer, banding = Signer(), Banding()
    signatures = [signer.sign(text) for text in BASES.values()]
    together = banding.keys(np.stack([signature.values for signature in signatures]))
    assert together.dtype == np.uint64 and together.shape == (len(signatures), banding.bands)
    assert [row.tolist() for row in together] == [banding.buckets(signature) for signature in signatures]


def test_out_of_range_settings_name_the_setting():
    from scrapy.settings import Settings

    with pytest.raises(NearDupConfigError, match="NEARDUP_JACCARD=1.5"):
        NearDupSettings.from_settings(Settings({"NEARDUP_JACCARD": 1.5}))


def test_catching_up_commits_in_batches(tmp_path):
    from sqlite_utils import Database

    from crawler.items import ArticleItem
    from pipelines.page import content_hash
    from pipelines.neardup.index import NearDupIndex
    from pipelines.db.store import NewsStore

    store = NewsStore.open(tmp_path / "news.db")
    for number, text in enumerate([*BASES.values(), *SAME_TOPIC.values()]):
        store.add_article(ArticleItem(url=f"https://a.example/{number}", text=text, content_hash=content_hash(text)))
    store.commit()
    index = NearDupIndex(store, NearDupSettings())
    assert index.sign_unsigned(commit_every=4) == 6
    # Another connection (a concurrent crawl) already sees the first four; the rest await the next commit.
    assert Database(tmp_path / "news.db").execute("select count(*) from neardup_signatures").fetchone()[0] == 4
    store.close()
    assert Database(tmp_path / "news.db").execute("select count(*) from neardup_signatures").fetchone()[0] == 6


@pytest.mark.parametrize("text", [*BASES.values(), "", "một"])
def test_signatures_of_string_sets_are_datasketchs_value_for_value(text):
    """Signed with numpy alone (no scipy in the workers), yet the very values datasketch's MinHash gives."""
    from datasketch import MinHash

    from pipelines.neardup.minhash import SCHEME, SEED

    reference = MinHash(num_perm=128, seed=SEED, scheme=SCHEME)
    reference.update_batch([gram.encode("utf-8") for gram in shingles(text, 3)])
    assert np.array_equal(Signer(128, 3).sign_set(shingles(text, 3)).values, reference.hashvalues.astype(np.uint32))


@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("text", [*BASES.values(), "", "một", "Hai từ", "một một một một một một"])
def test_a_text_has_one_shingle_hash_per_distinct_shingle(text, size):
    hashes = shingle_hashes(text, size)
    assert len(hashes) == len(shingles(text, size)) == Signer(128, size).sign(text).size
    assert hashes.dtype == np.uint64 and np.all(hashes[1:] > hashes[:-1])  # sorted, distinct


def test_shingle_hashes_follow_the_order_of_syllables_not_their_form():
    assert set(shingle_hashes("Ba con mèo đen", 3)) != set(shingle_hashes("đen mèo con Ba", 3))
    assert np.array_equal(shingle_hashes("BA con, MÈO!", 3), shingle_hashes("ba con mèo", 3))
    nfd = "".join(__import__("unicodedata").normalize("NFD", "Đảng ủy Tổng cục"))
    assert np.array_equal(shingle_hashes(nfd, 3), shingle_hashes("Đảng ủy Tổng cục", 3))


def test_the_syllable_memo_starts_again_when_full(monkeypatch):
    from pipelines.neardup import minhash

    expected = shingle_hashes(BASES["mua_lu_hue"], 3)
    monkeypatch.setattr(minhash, "SYLLABLE_MEMO", 50)
    minhash._syllable_hash.clear()
    assert np.array_equal(shingle_hashes(BASES["mua_lu_hue"], 3), expected)
    assert len(minhash._syllable_hash) <= len(set(minhash.syllables(BASES["mua_lu_hue"])))
    shingle_hashes(BASES["cau_rach_mieu"], 3)  # over 50: the memo was emptied first
    assert len(minhash._syllable_hash) <= len(set(minhash.syllables(BASES["cau_rach_mieu"])))


def test_shingle_hash_estimates_jaccard_as_well_as_sha1():
    """Over the labelled set's pairs of one story, the estimates from the syllable hashes are as close
    to the true Jaccard similarity as those of SHA-1 of each shingle (datasketch's)."""
    from itertools import combinations

    from bench.neardup_eval import build_set

    signer, errors = Signer(), {"syllables": [], "sha1": []}
    docs = build_set(with_real=False)
    sets = {doc.key: shingles(doc.text, 3) for doc in docs}
    by_hash = {doc.key: signer.sign(doc.text) for doc in docs}
    by_sha1 = {doc.key: signer.sign_set(sets[doc.key]) for doc in docs}
    for a, b in combinations(docs, 2):
        true = len(sets[a.key] & sets[b.key]) / len(sets[a.key] | sets[b.key])
        if a.story == b.story and true >= 0.2:
            errors["syllables"].append(abs(by_hash[a.key].jaccard(by_hash[b.key]) - true))
            errors["sha1"].append(abs(by_sha1[a.key].jaccard(by_sha1[b.key]) - true))
    assert len(errors["sha1"]) > 100
    # The standard error of an estimate from 128 permutations is 0.044 at a Jaccard of 0.5.
    assert np.mean(errors["syllables"]) < 0.04 and np.mean(errors["sha1"]) < 0.04


def test_the_kept_permutations_and_salts_are_the_generators():
    from pipelines.neardup import seeded
    from pipelines.neardup.minhash import band_salts, generated_permutations, generated_salts, permutations

    for num_perm, seed in seeded.PERMUTATIONS:
        for kept, generated in zip(permutations(num_perm, seed), generated_permutations(num_perm, seed)):
            assert kept.dtype == generated.dtype and np.array_equal(kept, generated)
    for bands, seed in seeded.SALTS:
        kept, generated = band_salts(bands, seed), generated_salts(bands, seed)
        assert kept.dtype == generated.dtype and np.array_equal(kept, generated)
    assert np.array_equal(permutations(64, 1)[0], generated_permutations(64, 1)[0])  # other settings: generated


def test_signing_with_the_default_settings_leaves_numpy_random_unloaded():
    """3 MB in each process that signs (the engine, every worker); see pipelines/neardup/seeded.py."""
    code = ("import sys; from pipelines.page import PageOptions, process_text; "
            "from pipelines.neardup.index import NearDupSettings; "
            "assert PageOptions().neardup == (NearDupSettings().num_perm, NearDupSettings().shingle_size, "
            "NearDupSettings().candidate_threshold); "
            "record = process_text({'text': 'Ông Nguyễn Văn An nói ngày 12/3 rằng ' * 40}, PageOptions()); "
            "assert record.fields['band_keys'] and 'numpy.random' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)


@pytest.mark.parametrize("points", [1, 2, 3, 8, 13, 33, 65, 129])
def test_the_quadrature_is_numpys_leggauss(points):
    from pipelines.neardup.minhash import gauss_legendre

    nodes, weights = gauss_legendre(points)
    expected_nodes, expected_weights = np.polynomial.legendre.leggauss(points)
    assert np.allclose(nodes, expected_nodes, rtol=0, atol=1e-14)
    assert np.allclose(weights, expected_weights, rtol=0, atol=1e-13)


@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_band_parameters_are_datasketchs(num_perm):
    from datasketch import MinHashLSH

    from pipelines.neardup.minhash import optimal_bands

    for threshold in (0.1, 0.2, 0.25, 0.3, 0.5, 0.7, 0.9):
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert optimal_bands(threshold, num_perm) == (lsh.b, lsh.r), threshold


def test_one_permutation_signatures_of_short_texts_estimate_jaccard_without_bias():
    """Texts of 13 to 118 shingles leave bins empty, which borrow from filled ones (densification):
    the estimates are as close to the true Jaccard similarity as 128 permutations', and unbiased."""
    rng, signer, words = random.Random(3), Signer(), [f"t{i}" for i in range(5000)]
    errors, permuted, signed = [], [], []
    for _ in range(300):
        base = [rng.choice(words) for _ in range(rng.randint(15, 120))]
        other = list(base)
        for _ in range(rng.randint(0, len(base) // 3)):
            other[rng.randrange(len(base))] = rng.choice(words)
        a, b = shingles(" ".join(base), 3), shingles(" ".join(other), 3)
        true = len(a & b) / len(a | b)
        errors.append(signer.sign(" ".join(base)).jaccard(signer.sign(" ".join(other))) - true)
        permuted.append(abs(signer.sign_set(a).jaccard(signer.sign_set(b)) - true))
        signed.append(signer.sign(" ".join(base)))
    assert np.mean(np.abs(errors)) < min(0.04, np.mean(permuted) + 0.01)
    assert abs(np.mean(errors)) < 0.01
    # Every bin holds a value of one of the text's own shingles: none is left empty.
    for signature in signed[:20]:
        assert not np.any(signature.values == np.uint32(0xFFFFFFFF))
        assert len(set(signature.values.tolist())) <= signature.size


def test_a_signature_is_the_smallest_hash_of_each_bin():
    from pipelines.neardup.minhash import shingle_hashes

    text = BASES["mua_lu_hue"]
    hashes, signature = shingle_hashes(text, 3), Signer(128, 3).sign(text)
    bins = (hashes >> np.uint64(32)) * np.uint64(128) >> np.uint64(32)
    for number in range(128):
        inside = hashes[bins == number]
        if len(inside):
            assert signature.values[number] == np.uint32(int(inside.min()) & 0xFFFFFFFF)
    assert Signer(128, 3).sign("").size == 0 and np.all(Signer(128, 3).sign("").values == np.uint32(0xFFFFFFFF))
