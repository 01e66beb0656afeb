"""Near-duplicate detection: link republished, edited and reworded copies into stories.

The writer (the store pipeline) calls it right after storing an article (it
needs the article id). Each new or changed article comes signed by the per-page
function in the workers (MinHash of its syllable shingles and its LSH band keys,
:mod:`pipelines.neardup.minhash`); here its buckets are looked up in an in-memory
index (:mod:`pipelines.neardup.bucket_index`), and each candidate sharing a bucket
is judged on estimated Jaccard and containment. Links go to ``near_duplicates`` and the article joins the story
(``articles.story_id``) of what it links to. The work per article is a few
memory lookups and one signature row: it does not grow with the database.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pipelines.neardup.bucket_index import BucketIndex, Sketches, narrow_keys
from pipelines.neardup.minhash import (
    LEGACY_SHINGLE_HASH, SHINGLE_HASH, Banding, Match, Signature, Signer, Thresholds, find_matches, signing,
)
from pipelines.neardup.spin import (
    MIN_ANCHORS, SpinSignature, SpinSigner, SpinText, SpinThresholds, find_spun, keep_same_event,
)

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

    from pipelines.db.store import NewsStore

logger = logging.getLogger(__name__)


# Articles signed per transaction when catching up (not in a rebuild, which is all or nothing).
CATCH_UP_BATCH = 500
# The saved bucket index is rebuilt when this many signatures (or a tenth of it) were written since.
SNAPSHOT_AFTER = 1000
# The anchors of the articles last stored or verified, kept for verifying the next ones (spun copies):
# a story's articles are candidates again and again. Each kept as one string, an anchor a line
# (some 1 KB): as a frozenset of tens of strings each took 4 KB, 8 MB of the writer's memory.
REMEMBERED_ANCHORS = 2048
# The encoded sentences of the articles last aligned (new, or a candidate): a story's copies are
# verified against the same few candidates again and again, whose texts were read and encoded each
# time (some 3 KB each; a quarter of the spun-copy stage in `scrapy replay` of the bench's seeds).
REMEMBERED_SENTENCES = 256


class NearDupConfigError(ValueError):
    """The settings do not fit the signatures stored in the database."""


@dataclass(frozen=True)
class NearDupSettings:
    """The ``NEARDUP_*`` settings, checked."""

    shingle_size: int = 3
    num_perm: int = 128
    candidate_threshold: float = 0.25
    # Candidates taken from one bucket at most (its latest articles): see BucketIndex.members.
    bucket_limit: int = 10
    thresholds: Thresholds = field(default_factory=Thresholds)
    # The second signal, for spun copies (pipelines/neardup/spin.py); None: off.
    spin: SpinThresholds | None = field(default_factory=SpinThresholds)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> NearDupSettings:
        default, limits, spin = cls(), Thresholds(), SpinThresholds()
        values = cls(
            shingle_size=settings.getint("NEARDUP_SHINGLE_SIZE", default.shingle_size),
            num_perm=settings.getint("NEARDUP_NUM_PERM", default.num_perm),
            candidate_threshold=settings.getfloat("NEARDUP_CANDIDATE_THRESHOLD", default.candidate_threshold),
            bucket_limit=settings.getint("NEARDUP_BUCKET_LIMIT", default.bucket_limit),
            thresholds=Thresholds(
                jaccard=settings.getfloat("NEARDUP_JACCARD", limits.jaccard),
                containment=settings.getfloat("NEARDUP_CONTAINMENT", limits.containment),
                min_shingles=settings.getint("NEARDUP_MIN_SHINGLES", limits.min_shingles),
            ),
            spin=SpinThresholds(
                alignment=settings.getfloat("NEARDUP_SPIN_ALIGNMENT", spin.alignment),
                anchors=settings.getfloat("NEARDUP_SPIN_ANCHORS", spin.anchors),
            ) if settings.getbool("NEARDUP_SPIN_ENABLED", True) else None,
        )
        checks = {
            "NEARDUP_SHINGLE_SIZE": 1 <= values.shingle_size <= 10,
            "NEARDUP_NUM_PERM": 16 <= values.num_perm <= 1024,
            "NEARDUP_CANDIDATE_THRESHOLD": 0 < values.candidate_threshold < 1,
            "NEARDUP_BUCKET_LIMIT": values.bucket_limit >= 0,
            "NEARDUP_JACCARD": 0 < values.thresholds.jaccard <= 1,
            "NEARDUP_CONTAINMENT": 0 < values.thresholds.containment <= 1,
            "NEARDUP_SPIN_ALIGNMENT": values.spin is None or 0 < values.spin.alignment <= 1,
            "NEARDUP_SPIN_ANCHORS": values.spin is None or 0 < values.spin.anchors <= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise NearDupConfigError(
                    f"{name}={settings.get(name)} is out of range: see the NEARDUP_* settings in docs/settings.md"
                )
        return values

    def signing(self) -> str:
        """How these settings sign (:func:`~pipelines.neardup.minhash.signing`)."""
        return signing(self.num_perm, self.shingle_size, self.candidate_threshold)

    def index_config(self) -> dict[str, str]:
        """What the stored signatures and buckets depend on; thresholds may change freely."""
        return {
            "shingle_size": str(self.shingle_size),
            "num_perm": str(self.num_perm),
            "candidate_threshold": str(self.candidate_threshold),
            "shingle_hash": SHINGLE_HASH,
        }


class NearDupIndex:
    """Sign, look up and link articles, through a :class:`NewsStore` (the only writer).

    The LSH buckets are held in memory (:class:`BucketIndex`), loaded at start
    from the saved snapshot plus the signatures written since; once per write
    transaction (the writer holds the lock until it commits), the signatures other
    crawl processes wrote meanwhile are added (``seq`` is the last one seen), so
    concurrent crawls link to each other's articles.
    """

    def __init__(self, store: NewsStore, settings: NearDupSettings) -> None:
        self.store = store
        self.settings = settings
        self.signed_with = settings.signing()  # a record signed otherwise is signed here again
        self.signer = Signer(settings.num_perm, settings.shingle_size)
        self.banding = Banding(settings.num_perm, settings.candidate_threshold)
        self.spin_signer = SpinSigner()
        self.buckets = BucketIndex()
        self.sketches = Sketches(settings.num_perm)
        self.seq = 0  # the last signature (by sequence number) in self.buckets
        self.caught_up_in = -1  # the store's write transaction in which the index last caught up
        self.snapshot_seq = 0  # the last one in the saved snapshot
        # Whether self.buckets holds keys of a replaced signature (an article signed again): a snapshot
        # of it would keep them, so it is made anew from the signatures instead.
        self.stale_keys = False
        self._anchors: OrderedDict[int, str] = OrderedDict()  # article id -> its anchors, a line each, the latest last
        self._sentences: OrderedDict[int, list[str]] = OrderedDict()  # article id -> SpinText.sentences

    def check_config(self) -> None:
        """Refuse settings that differ from those the stored signatures were made with."""
        wanted, stored = self.settings.index_config(), self.store.neardup_config()
        if not stored or not self.store.signed_count():
            self.store.set_neardup_config(wanted)
            return
        stored = {"shingle_hash": LEGACY_SHINGLE_HASH, **stored}  # signed before the name was kept
        changed = {name: (stored.get(name), value) for name, value in wanted.items() if stored.get(name) != value}
        if set(changed) == {"shingle_hash"}:  # this version's hash, no setting changed: nothing to ask
            total = self.store.signed_count()
            logger.warning("Near-duplicates: the %d signatures in NEWS_DB were made another way (%s): "
                           "signing them again, once (links and stories stay)", total, changed["shingle_hash"][0])
            self.sign_again(progress_logger(total))
            return
        if changed:
            details = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in changed.items())
            raise NearDupConfigError(
                f"the near-duplicate signatures in NEWS_DB were made with other settings ({details}): "
                "run `scrapy neardup --rebuild` to recompute them"
            )

    # --- the in-memory buckets ------------------------------------------------------

    def load(self) -> None:
        """Load the saved bucket index and catch up; rebuild and save it when much was signed since."""
        arrays, self.snapshot_seq = self.store.index_snapshot()
        if self.snapshot_is_stale():
            self.save_snapshot()
            return
        try:
            self.buckets = BucketIndex.from_arrays(arrays)
            self.sketches = Sketches.from_arrays(arrays, self.settings.num_perm)
        except ValueError as exc:
            logger.warning("Near-duplicates: the saved index in neardup_index is unusable (%s): rebuilding it", exc)
            self.save_snapshot()
            return
        self.seq = self.snapshot_seq
        self.catch_up()

    def catch_up(self, lock: bool = True) -> int:
        """Add the signatures written after ``self.seq`` (by other processes, or before a load); return how many.

        ``lock``: take the write lock first (see :meth:`NewsStore.signatures_since`).
        """
        ids, keys, spun_ids, spun_keys = [], [], [], []
        while rows := self.store.signatures_since(self.seq, lock=lock):
            ids.append(np.fromiter((row[0] for row in rows), np.int64, len(rows)))
            values = np.frombuffer(b"".join(row[1] for row in rows), "<u4").reshape(len(rows), -1)
            keys.append(narrow_keys(self.banding.keys(values)))  # a uint32 each: half the memory of a cold start
            self.stale_keys = self.stale_keys or self.sketches.any_known(ids[-1])
            self.sketches.put(ids[-1], values, np.fromiter((row[2] for row in rows), np.int64, len(rows)))
            # The spun-copy bands of those with enough anchors (none before migration m100, until a rebuild).
            spun = [row for row in rows if row[4] is not None and (row[5] or 0) >= MIN_ANCHORS]
            if spun:
                spun_ids.append(np.fromiter((row[0] for row in spun), np.int64, len(spun)))
                anchors = np.frombuffer(b"".join(row[4] for row in spun), "<u4").reshape(len(spun), -1)
                spun_keys.append(narrow_keys(self.spin_signer.banding.keys(anchors)))
            self.seq = rows[-1][3]
        if ids:  # one merge for the lot (shingle and anchor bands together): a cold start sorts the index once
            flat_ids = [np.repeat(chunk, rows.shape[1]) for chunk, rows in zip(ids + spun_ids, keys + spun_keys)]
            flat_keys = [rows.ravel() for rows in keys + spun_keys]
            self.buckets.extend(np.concatenate(flat_ids), np.concatenate(flat_keys)[:, np.newaxis])
        return sum(len(chunk) for chunk in ids)

    def snapshot_is_stale(self) -> bool:
        """True when the signatures written since the snapshot are over a tenth of it (and a thousand)."""
        since = self.store.signed_count(after_seq=self.snapshot_seq)
        return since > max(SNAPSHOT_AFTER, (self.store.signed_count() - since) // 10)

    def save_snapshot_if_stale(self) -> None:
        """Save the index when much was signed since the last save (at the end of a crawl or ``dedupe``):
        as it is in memory when no signature in it was replaced, else made anew."""
        if self.snapshot_is_stale():
            self.save_snapshot(rebuild=self.stale_keys)

    def save_snapshot(self, rebuild: bool = True) -> None:
        """Save the in-memory index; ``rebuild``: made anew from the signatures first, so that it holds no
        replaced signature's keys.

        The rebuild reads without the write lock (seconds at 100,000 articles that
        other crawls need not wait for); only the save takes it. Without it, the index
        catches up on what other processes signed, under the lock, and is saved as it is
        (a tenth of a second less at the end of a replay of 10,000 articles).
        """
        if rebuild:
            self.buckets, self.sketches, self.seq = BucketIndex(), Sketches(self.settings.num_perm), 0
            self.stale_keys = False
            self.catch_up(lock=False)
        else:
            self.catch_up()
        self.store.save_index_snapshot({**self.buckets.arrays(), **self.sketches.arrays()}, self.seq)
        self.snapshot_seq = self.seq

    # --- articles --------------------------------------------------------------------

    def add(self, article_id: int, text: str) -> tuple[int, list[Match]]:
        """Sign ``article_id`` here (offline catch-up and rebuilds) and link it; see :meth:`link`."""
        spin_text = SpinText(text)  # its anchors, found once for the signature and the verifications
        signature, spun = self.signer.sign(text), self.spin_signer.sign_anchors(spin_text.anchors)
        keys = self.banding.keys(signature.values[np.newaxis, :])[0]
        return self.link(article_id, signature, keys, spun, self.spin_signer.article_keys(spun), spin_text)

    def link(
        self, article_id: int, signature: Signature, keys: np.ndarray, spun: SpinSignature | None = None,
        spin_keys: np.ndarray | None = None, text: str | SpinText | None = None,
    ) -> tuple[int, list[Match]]:
        """Link ``article_id`` (signed again, when it changed) to its near-duplicates; return (story id, links).

        ``keys``: its uint64 band keys (:meth:`Banding.keys`), as the per-page function made them;
        ``spun`` and ``spin_keys``: its anchor signature and bands (:class:`SpinSigner`), and
        ``text``, for the spun-copy signal (without them, only the shingle MinHash links).
        """
        if self.caught_up_in != self.store.transactions:
            # Once per write transaction (the writer's batch): once it holds the write lock,
            # nobody else can sign until it commits.
            self.catch_up()
            self.caught_up_in = self.store.transactions
        spin = self.settings.spin
        spin_candidates: list[int] = []
        if spin is not None and text is not None and spin_keys is not None and len(spin_keys):
            # Both kinds of bands in one search: the anchor bands' articles that share enough of them.
            candidates, spin_candidates = self.buckets.lookup(keys, spin_keys, spin.min_bands, self.settings.bucket_limit)
        else:
            candidates = self.buckets.members(keys, self.settings.bucket_limit)
        candidates.discard(article_id)
        # Only those the sketches cannot rule out are read and judged.
        candidates = self.sketches.may_match(signature, candidates, self.settings.thresholds)
        matches = find_matches(signature, candidates, self.store.signatures, self.settings.thresholds)
        anchors = None
        if spin is not None and text is not None:
            new = SpinText.of(text)
            matches = self.spun_matches(article_id, new, matches, spin_candidates, spin)
            anchors = new.anchors  # saved with the signature: the articles to come read them there
        self.seq = self.store.save_signature(article_id, signature, spun, anchors)
        # A replaced signature's old keys stay until the next snapshot: at worst a candidate too many.
        self.stale_keys = self.stale_keys or self.sketches.known(article_id)
        if spin_keys is not None and len(spin_keys):
            keys = np.concatenate([keys, spin_keys])
        self.buckets.add(article_id, keys)
        self.sketches.put(np.array([article_id]), signature.values[np.newaxis, :], np.array([signature.size]))
        return self.store.link_near_duplicates(article_id, matches), matches

    def spun_matches(
        self, article_id: int, text: str | SpinText, matches: list[Match], shared: list[int], spin: SpinThresholds
    ) -> list[Match]:
        """The shingle matches that can be the same event, and the spun copies found by the anchor bands.

        ``shared``: the stored articles that share ``spin.min_bands`` anchor bands
        (:meth:`BucketIndex.lookup`); each that was not a shingle match already is
        verified; only those few texts are read.
        """
        linked = {match.similar_id for match in matches} | {article_id}
        new = SpinText.of(text)
        self._sentences.pop(article_id, None)  # an article signed again may have a new text
        verified: dict[int, SpinText] = {}  # the candidates read for it

        def texts(ids: list[int]) -> dict[int, SpinText]:
            found = self.spin_texts(ids)
            verified.update(found)
            return found

        matches = keep_same_event(new, matches, texts, spin)
        candidates = [other for other in shared if other not in linked]
        if candidates:
            matches = matches + find_spun(new, candidates, texts, spin)
        self._remember_anchors(article_id, new.anchors)  # it is a candidate of the articles to come
        for key, aligned in [*verified.items(), (article_id, new)]:  # the new one last: the latest
            if aligned.encoded is not None:  # encoded for an alignment: kept for the next ones
                self._sentences[key] = aligned.encoded
                self._sentences.move_to_end(key)
        while len(self._sentences) > REMEMBERED_SENTENCES:
            self._sentences.popitem(last=False)
        return matches

    def spin_texts(self, ids: list[int]) -> dict[int, SpinText]:
        """The stored articles ``ids`` for verification, each read from the database only if its
        anchors pass: the anchors of the latest articles are remembered, the others' were saved with
        their signatures; only articles signed before that (migration m120) are read now.

        The writer computed the anchors of each candidate from its text (a pass of regular
        expressions over it): half its time per article when the same stories keep coming, and a
        quarter of `scrapy ingest`'s when they came from further back than the remembered ones.
        """
        known = self._anchors
        found = {}
        for article_id in ids:
            if (remembered := known.get(article_id)) is not None:
                known.move_to_end(article_id)
                words = frozenset(filter(None, remembered.split("\n")))
                found[article_id] = SpinText(anchors=words, load=partial(self._text_of, article_id),
                                             sentences=self._sentences.get(article_id))
        # Older ones: their anchors as saved with their signature (a short read), the text only if they pass.
        for article_id, saved in self.store.anchor_words([i for i in ids if i not in found]).items():
            found[article_id] = SpinText(anchors=saved, load=partial(self._text_of, article_id),
                                         sentences=self._sentences.get(article_id))
            self._remember_anchors(article_id, saved)
        # Signed before their anchors were saved: found in their text.
        for article_id, text in self.store.article_texts([i for i in ids if i not in found]).items():
            found[article_id] = SpinText(text)
            self._remember_anchors(article_id, found[article_id].anchors)
        return found

    def _text_of(self, article_id: int) -> str:
        return self.store.article_texts([article_id]).get(article_id, "")

    def _remember_anchors(self, article_id: int, anchors: frozenset[str]) -> None:
        self._anchors[article_id] = "\n".join(anchors)
        self._anchors.move_to_end(article_id)
        while len(self._anchors) > REMEMBERED_ANCHORS:
            self._anchors.popitem(last=False)

    def sign_unsigned(self, progress: Callable[[int], None] | None = None, commit_every: int = 0) -> int:
        """Sign and link, oldest first, every article without a signature; return how many.

        With ``commit_every``, commit after that many articles, so that a long catch-up
        does not hold the write lock that concurrent crawls wait for.
        """
        done = 0
        for article_id, text in self.store.unsigned_articles():
            self.add(article_id, text)
            done += 1
            if commit_every and done % commit_every == 0:
                self.store.commit()
            if progress:
                progress(done)
        return done

    def sign_again(self, progress: Callable[[int], None] | None = None) -> int:
        """Sign every signed article again with this version's shingle hash (:data:`SHINGLE_HASH`), in
        one transaction (an interrupted one changes nothing); return how many.

        Only the shingle signatures change: the links and stories found with the old ones, and the
        anchors, stay. The saved index is made anew from the new signatures.
        """
        done = 0
        for article_id, text in self.store.signed_texts():
            self.store.replace_shingle_signature(article_id, self.signer.sign(text))
            done += 1
            if progress:
                progress(done)
        self.store.set_neardup_config(self.settings.index_config())
        self.save_snapshot()
        self.store.commit()
        return done

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Recompute every signature, link and story, in one transaction; return the article count."""
        self.store.reset_near_duplicates()
        self.store.set_neardup_config(self.settings.index_config())
        self.buckets, self.sketches = BucketIndex(), Sketches(self.settings.num_perm)
        self.seq, self.snapshot_seq = self.store.last_seq(), 0
        done = self.sign_unsigned(progress)
        self.save_snapshot()
        return done


def progress_logger(total: int, every_seconds: float = 5.0) -> Callable[[int], None]:
    """A progress callback that logs ``done/total`` at most every ``every_seconds``."""
    started = last = time.monotonic()

    def report(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= every_seconds or done == total:
            last = now
            rate = done / max(now - started, 1e-9)
            logger.info("Near-duplicates: %d/%d articles signed (%.0f/s)", done, total, rate)

    return report
