"""The in-memory LSH bucket index: its limits, its snapshot in SQLite, and crawls that write concurrently."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sqlite_utils import Database

from bench.neardup_eval import EDIT_KINDS, edit
from bench.neardup_texts import BASES, SAME_TOPIC
from crawler.items import ArticleItem
from pipelines.neardup.bucket_index import BucketIndex, Sketches
from pipelines.page import content_hash
from pipelines.neardup.minhash import Signer, Thresholds, judge
from pipelines.neardup.index import NearDupIndex, NearDupSettings
from pipelines.db.store import NewsStore


def key(number: int) -> int:
    """A band key: 64 bits, of which the index keeps the top 32."""
    return number << 40


def test_a_crowded_bucket_yields_its_latest_articles_only():
    index = BucketIndex()
    for article_id in range(1, 31):
        index.add(article_id, [key(7), key(1000 + article_id)])
    assert index.members([key(7)]) == set(range(1, 31))
    assert index.members([key(7)], limit=5) == {26, 27, 28, 29, 30}
    assert index.members([key(7), key(1003)], limit=5) == {3, 26, 27, 28, 29, 30}  # a quiet bucket still counts
    index.merge()
    assert index.members([key(7)], limit=5) == {26, 27, 28, 29, 30}
    index.add(31, [key(7)])  # recent entries and sorted ones together
    assert index.members([key(7)], limit=2) == {30, 31}
    crowded = np.arange(100, 10_100)
    index.extend(crowded, np.full((len(crowded), 1), key(7), np.uint64))
    assert index.members([key(7)]) == set(range(1, 32)) | set(crowded.tolist())
    assert index.members([key(7)], limit=3) == {10_097, 10_098, 10_099}


def test_sorted_arrays_and_saved_parts_answer_like_the_dict():
    rng = np.random.default_rng(1)
    ids = np.arange(1, 2001)
    keys = rng.integers(0, 500, size=(2000, 4)).astype(np.uint64) << np.uint64(40)  # few keys: crowded buckets
    by_dict, by_arrays = BucketIndex(), BucketIndex()
    for article_id, row in zip(ids.tolist(), keys.tolist()):
        by_dict.add(article_id, row)
    by_arrays.extend(ids, keys)  # large enough to go straight to the arrays
    assert by_arrays.recent_entries == 0 and len(by_arrays) == len(by_dict) == 8000
    reloaded = BucketIndex.from_arrays({name: array.tobytes() for name, array in by_arrays.arrays().items()})
    for probe in ([key(0), key(1), key(2)], [key(499)], [key(123), key(456), key(789)]):
        expected = by_dict.members(probe)
        assert expected and by_arrays.members(probe) == expected == reloaded.members(probe)
        assert by_arrays.members(probe, limit=3) == by_dict.members(probe, limit=3) == reloaded.members(probe, limit=3)


@pytest.mark.parametrize("seed", [3, 4])
def test_merges_keep_the_arrays_sorted_by_key_then_article(seed):
    """Entries merged in (new buckets, new members of known ones, older articles re-signed, repeats)
    leave the arrays as one sort of every (key, id) pair would."""
    rng = np.random.default_rng(seed)
    index, pairs = BucketIndex(), []
    for step in range(6):
        ids = rng.integers(1, 3000 if step % 2 else 500, size=400)  # odd steps: some ids below those merged
        keys = rng.integers(0, 300, size=(400, 3)).astype(np.uint64) << np.uint64(40)  # few keys: runs
        for article_id, row in zip(ids.tolist(), keys.tolist()):
            index.add(article_id, row)
            pairs += [(k >> 32, article_id) for k in row]
        if step == 3:
            index.extend(ids, keys)  # straight into the arrays
            pairs += [(k >> 32, i) for i, row in zip(ids.tolist(), keys.tolist()) for k in row]
        index.merge()
        expected = sorted(pairs)
        assert index.keys.tolist() == [k for k, _ in expected] and index.ids.tolist() == [i for _, i in expected]
        assert index.keys.dtype == np.dtype("<u4") and index.ids.dtype == np.dtype("<u4")


def test_lookups_by_directory_agree_with_a_plain_dict():
    rng = np.random.default_rng(2)
    # Uniform 64-bit keys as the banding makes them, a few of them shared by many articles.
    keys = rng.integers(0, 2**64 - 1, size=(5000, 6), dtype=np.uint64)
    keys[::50, 0] = keys[0, 0]  # one crowded bucket, 100 articles
    keys[1::7, 1] = keys[1, 1]
    ids = np.arange(1, 5001)
    by_dict, by_arrays = BucketIndex(), BucketIndex()
    for article_id, row in zip(ids.tolist(), keys.tolist()):
        by_dict.add(article_id, row)
    by_arrays.extend(ids, keys)
    probes = [keys[number] for number in rng.integers(0, 5000, size=300)]
    probes += [rng.integers(0, 2**64 - 1, size=6, dtype=np.uint64) for _ in range(50)]  # absent keys
    probes.append(np.array([keys.max(), keys.min()], dtype=np.uint64))  # the ends of the arrays
    for probe in probes:
        assert by_arrays.members(probe) == by_dict.members(probe.tolist())
        assert by_arrays.members(probe, limit=4) == by_dict.members(probe.tolist(), limit=4)


def test_anchor_candidates_are_counted_over_the_latest_of_each_bucket_like_a_plain_dict():
    # Common anchors crowd some buckets by the hundred; part of each bucket is in the sorted arrays,
    # part in the recent dict, and re-signed articles come back with older ids.
    rng = random.Random(3)
    common = [key(n) for n in range(1, 9)]
    rare = [key(n) for n in range(100, 700)]
    index, plain = BucketIndex(), {}
    for article_id in range(1, 3001):
        if article_id == 2000:
            index.merge()
        resigned = rng.random() < 0.05
        number = rng.randint(1, article_id) if resigned else article_id
        keys = rng.sample(common, 4) + rng.sample(rare, 8)
        index.add(number, keys)
        for band_key in keys:
            plain.setdefault(band_key >> 32, set()).add(number)
    assert index.recent and len(index.keys)
    for limit in (0, 3, 10):
        for _ in range(50):
            probe = rng.sample(common, 4) + rng.sample(rare, 8)
            expected: dict[int, int] = {}
            for band_key in probe:
                members = sorted(plain.get(band_key >> 32, ()))
                for member in members[-limit:] if limit else members:
                    expected[member] = expected.get(member, 0) + 1
            assert dict(index.member_counts(probe, limit)) == expected
            assert index.sharing(probe, 3, limit) == sorted(m for m, n in expected.items() if n >= 3)
    # A recent bucket lists its articles in order, whatever order they came in.
    assert all(members == sorted(members) for members in index.recent.values() if isinstance(members, list))


def test_crowded_buckets_are_found_by_their_kept_bounds():
    index = BucketIndex()
    crowded = np.arange(1, 5001)
    index.extend(crowded, np.full((len(crowded), 1), key(7), np.uint64))  # one bucket of 5,000 articles
    index.extend(crowded, (np.arange(1, 5001, dtype=np.uint64) << np.uint64(40))[:, np.newaxis] + np.uint64(1 << 39))
    assert index.members([key(7)], limit=3) == {4998, 4999, 5000}
    assert index.sharing([key(7), (12 << 40) + (1 << 39)], 2, limit=10) == []
    assert index.member_counts([key(7), (4999 << 40) + (1 << 39)], limit=10)[4999] == 2
    kept_keys, starts, ends = index._crowded  # made with the directory, once per merge
    assert kept_keys.tolist() == [key(7) >> 32] and (ends - starts).tolist() == [5000]


def store_articles(store: NewsStore, texts: dict[str, str]) -> dict[str, int]:
    ids = {}
    for key, text in texts.items():
        ids[key] = store.add_article(
            ArticleItem(url=f"https://a.example/{key}", text=text, site="a.example", content_hash=content_hash(text))
        )
    return ids


def test_two_crawls_writing_at_once_link_to_each_other(tmp_path):
    path = tmp_path / "news.db"
    first, second = NewsStore.open(path), NewsStore.open(path)
    crawl_a, crawl_b = NearDupIndex(first, NearDupSettings()), NearDupIndex(second, NearDupSettings())
    crawl_a.load()
    first.commit()
    crawl_b.load()
    second.commit()
    # Crawl B stores and signs the bridge article after crawl A has loaded its index.
    bridge = store_articles(second, {"bridge": BASES["cau_rach_mieu"]})["bridge"]
    crawl_b.add(bridge, BASES["cau_rach_mieu"])
    second.commit()
    # Crawl A then stores a trimmed copy: it catches up on B's signature and links.
    copy_text = edit(BASES["cau_rach_mieu"], "tail_cut", random.Random(1))
    copy = store_articles(first, {"copy": copy_text})["copy"]
    story, matches = crawl_a.add(copy, copy_text)
    first.commit()
    assert [match.similar_id for match in matches] == [bridge] and story == bridge
    # And B, in turn, sees A's copy when the same-topic twin (not a copy) arrives: no link.
    twin = store_articles(second, {"twin": SAME_TOPIC["cau_rach_mieu"]})["twin"]
    assert crawl_b.add(twin, SAME_TOPIC["cau_rach_mieu"])[1] == []
    assert crawl_b.seq == crawl_a.seq + 1 == 3
    first.close()
    second.close()


def test_a_snapshot_is_loaded_then_caught_up(tmp_path):
    path = tmp_path / "news.db"
    store = NewsStore.open(path)
    index = NearDupIndex(store, NearDupSettings())
    ids = store_articles(store, {key: BASES[key] for key in ("cau_rach_mieu", "mua_lu_hue")})
    index.rebuild()  # signs both and saves the snapshot
    store.commit()
    saved = Database(path)
    assert saved["neardup_config"].get("index_seq")["value"] == "2"
    assert {row[0] for row in saved.execute("select name from neardup_index")} == {"keys", "ids", "sketches", "sizes"}
    # One more article after the snapshot: a crawl loads the snapshot and catches up on it.
    ids.update(store_articles(store, {"hoi_sach_hn": BASES["hoi_sach_hn"]}))
    index.add(ids["hoi_sach_hn"], BASES["hoi_sach_hn"])
    store.close()
    later = NearDupIndex(NewsStore.open(path), NearDupSettings())
    later.load()
    assert (later.snapshot_seq, later.seq) == (2, 3)
    # Each article's shingle bands and its anchor bands (spun copies: each base has enough anchors).
    per_article = later.banding.bands + later.spin_signer.banding.bands
    assert len(later.buckets.keys) == 2 * per_article and later.buckets.recent_entries == per_article
    for key, text in BASES.items():
        copy = later.signer.sign(edit(text, "reordered", random.Random(2)))
        found = later.buckets.members(later.banding.buckets(copy))
        assert found == {ids[key]}
    later.store.close()


def test_a_rebuilt_snapshot_forgets_replaced_signatures(tmp_path):
    store = NewsStore.open(tmp_path / "news.db")
    index = NearDupIndex(store, NearDupSettings())
    article = store_articles(store, {"bridge": BASES["cau_rach_mieu"]})["bridge"]
    index.add(article, BASES["cau_rach_mieu"])
    index.add(article, BASES["mua_lu_hue"])  # the page changed: signed again
    old_keys = index.banding.buckets(index.signer.sign(BASES["cau_rach_mieu"]))
    assert index.buckets.members(old_keys) == {article}  # until the next snapshot, a candidate too many
    index.save_snapshot()
    assert index.buckets.members(old_keys) == set()
    assert index.buckets.members(index.banding.buckets(index.signer.sign(BASES["mua_lu_hue"]))) == {article}
    store.close()


def test_sketches_never_rule_out_a_link_the_signatures_would_make():
    signer, thresholds, rng = Signer(), Thresholds(), random.Random(5)
    texts = [*BASES.values(), *SAME_TOPIC.values()]
    texts += [edit(text, kind, rng) for text in BASES.values() for kind in EDIT_KINDS]
    signatures = [signer.sign(text) for text in texts]
    sketches = Sketches(signer.num_perm)
    ids = np.arange(1, len(texts) + 1)
    sketches.put(ids, np.stack([s.values for s in signatures]), np.array([s.size for s in signatures]))
    linked = ruled_out = 0
    for number, signature in enumerate(signatures, start=1):
        kept = set(sketches.may_match(signature, ids.tolist(), thresholds))  # many: judged in array operations
        assert kept == {i for i in ids.tolist() if sketches.may_match(signature, [i], thresholds)}  # as one by one
        for other_id, other in zip(ids.tolist(), signatures):
            if judge(signature, other, other_id, thresholds):
                linked += 1
                assert other_id in kept
            elif other_id not in kept:
                ruled_out += 1
    assert linked > len(texts) and ruled_out > len(texts)  # both sides are exercised
    unknown = np.array([len(texts) + 5000])  # an article the sketches have not seen is kept, to be read
    assert sketches.may_match(signatures[0], unknown.tolist(), thresholds) == [len(texts) + 5000]


def test_the_snapshot_is_saved_in_parts_and_read_back_whole(tmp_path):
    store = NewsStore.open(tmp_path / "news.db")
    arrays = {"keys": np.arange(1000, dtype=np.uint64), "sketches": np.arange(3000, dtype=np.uint16).reshape(-1, 3)}
    store.save_index_snapshot(arrays, seq=7, part_bytes=999)
    store.commit()
    assert store.db.execute("select count(*) from neardup_index where name = 'keys'").fetchone()[0] == 9
    loaded, seq = store.index_snapshot()
    assert seq == 7
    assert np.array_equal(np.frombuffer(loaded["keys"], np.uint64), arrays["keys"])
    assert np.array_equal(np.frombuffer(loaded["sketches"], np.uint16).reshape(-1, 3), arrays["sketches"])
    store.close()


def test_a_load_after_much_signing_saves_a_new_snapshot(tmp_path, monkeypatch):
    import pipelines.neardup.index

    path = tmp_path / "news.db"
    store = NewsStore.open(path)
    index = NearDupIndex(store, NearDupSettings())
    store_articles(store, {"cau_rach_mieu": BASES["cau_rach_mieu"]})
    index.rebuild()
    for key in ("mua_lu_hue", "hoi_sach_hn"):  # signed after the snapshot
        index.add(store_articles(store, {key: BASES[key]})[key], BASES[key])
    store.close()
    monkeypatch.setattr(pipelines.neardup.index, "SNAPSHOT_AFTER", 1)
    later = NearDupIndex(NewsStore.open(path), NearDupSettings())
    later.load()
    later.store.commit()
    assert later.snapshot_seq == later.seq == 3
    assert Database(path)["neardup_config"].get("index_seq")["value"] == "3"
    later.store.close()


def test_an_unusable_saved_index_is_rebuilt(tmp_path, caplog):
    path = tmp_path / "news.db"
    store = NewsStore.open(path)
    index = NearDupIndex(store, NearDupSettings())
    ids = store_articles(store, {key: BASES[key] for key in ("cau_rach_mieu", "mua_lu_hue")})
    index.rebuild()
    store.db.execute("UPDATE neardup_index SET data = substr(data, 1, 20) WHERE name = 'ids'")  # cut short
    store.close()
    later = NearDupIndex(NewsStore.open(path), NearDupSettings())
    later.load()
    later.store.commit()
    assert "unusable (band keys and article ids differ in length): rebuilding it" in caplog.text
    copy = later.signer.sign(edit(BASES["mua_lu_hue"], "tail_cut", random.Random(4)))
    assert later.buckets.members(later.banding.buckets(copy)) == {ids["mua_lu_hue"]}
    saved, _ = later.store.index_snapshot()
    # Saved again, whole: both articles' shingle and anchor bands, 4 bytes an id.
    assert len(saved["ids"]) == 2 * (later.banding.bands + later.spin_signer.banding.bands) * 4
    later.store.close()


def test_a_database_signed_with_bucket_rows_is_upgraded(tmp_path):
    from pipelines.db import schema
    from pipelines.vietnamese.dates import utc_now

    path = tmp_path / "news.db"
    old = Database(path)
    schema.migrations.apply(old, stop_before="m060_neardup_memory_index")  # the schema before the in-memory index
    signer = Signer()
    bridge = BASES["cau_rach_mieu"]
    old["articles"].insert({"id": 1, "story_id": 1, "content_hash": content_hash(bridge), "url": "https://a.example/1",
                            "site": "a.example", "text": bridge, "first_seen": utc_now()})
    signature = signer.sign(bridge)
    old["neardup_signatures"].insert({"article_id": 1, "shingles": signature.size, "signature": signature.to_blob(),
                                      "signed": utc_now()})
    old.execute("INSERT INTO neardup_buckets (bucket, article_id) VALUES (42, 1)")
    old.conn.commit()
    old.close()
    store = NewsStore.open(path)
    assert "neardup_buckets" not in store.db.table_names()
    assert store.db["neardup_signatures"].get(1)["seq"] == 1
    index = NearDupIndex(store, NearDupSettings())
    index.load()
    copy_text = edit(bridge, "tail_cut", random.Random(6))
    copy = store_articles(store, {"copy": copy_text})["copy"]
    assert index.add(copy, copy_text)[0] == 1  # joins the old article's story
    store.close()


def test_a_snapshot_with_no_replaced_signature_is_saved_as_it_is(tmp_path):
    """What the in-memory index holds then is what a rebuild from the signatures gives: the end of a
    crawl saves it without the rebuild; once an article is signed again, the rebuild is needed."""
    store = NewsStore.open(tmp_path / "news.db")
    index = NearDupIndex(store, NearDupSettings())
    ids = store_articles(store, dict(BASES))
    for key, text in BASES.items():
        index.add(ids[key], text)
    assert not index.stale_keys
    index.save_snapshot(rebuild=False)
    as_it_was = store.index_snapshot()
    index.save_snapshot(rebuild=True)
    assert store.index_snapshot() == as_it_was and as_it_was[1] == index.seq
    index.add(ids["mua_lu_hue"], BASES["cau_rach_mieu"])  # its page changed: signed again
    assert index.stale_keys
    index.save_snapshot(rebuild=index.stale_keys)
    assert not index.stale_keys and store.index_snapshot() != as_it_was
    store.close()
