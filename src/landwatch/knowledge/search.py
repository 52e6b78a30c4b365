"""Full-text ranking of SLM practice records: a light normaliser and BM25F in Python.

Pure functions over texts, so that ranking is the same on every database: the
service (:func:`landwatch.knowledge.practices.search_practices`) selects the
records in SQL and ranks them here. Fine for thousands of records.

Text is normalised by :func:`normalise`: lower case, accents folded (``zaï`` ->
``zai``), split into letters-and-digits words, then :func:`stem` strips simple
English plural and verb suffixes (``terraces``, ``terraced``, ``terracing`` ->
``terrac``). English stop words are ignored for scoring.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Field weights of BM25F: a word in the name counts three times one in the description.
FIELD_WEIGHTS: dict[str, float] = {"name": 3.0, "summary": 2.0, "keywords": 2.0, "description": 1.0}
#: BM25 term-frequency saturation and length normalisation.
K1 = 1.2
B = 0.75
#: Share of the score a word found only by prefix (the last query word) gets.
PREFIX_FACTOR = 0.8
#: The last query word is completed as a prefix when it has at least this many characters.
PREFIX_MIN_LENGTH = 3
SNIPPET_LENGTH = 160

STOP_WORDS: frozenset[str] = frozenset(
    """a an and are as at be but by for from has have in into is it its of on or
    that the their there these this to was were which with""".split()
)

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case with accents removed (``Zaï pits`` -> ``zai pits``)."""
    if text.isascii():  # fast path: most text; ASCII casefold is lower()
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """:func:`fold` of ``text`` and, for each folded character, its index in ``text``."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for c in fold(ch):
            chars.append(c)
            offsets.append(i)
    return "".join(chars), offsets


def words(text: str) -> list[str]:
    """The folded words of ``text`` (letters and digits), in order."""
    return _WORD.findall(fold(text))


def _has_vowel(word: str) -> bool:
    return any(c in "aeiouy" for c in word)


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light English stem: plural, ``-ed`` and ``-ing`` endings and a final ``e`` removed.

    Both query words and record words go through it, so ``bund`` finds ``bunds`` and
    ``terracing`` finds ``terraces``. Words of 3 characters or fewer are kept.

    Notes
    -----
    Plurals as in Harman's S-stemmer (``-ies`` -> ``-y``, ``-sses``/``-ches``/
    ``-shes``/``-xes`` lose ``es``, other ``-s`` but ``-ss``/``-us``/``-is`` lose
    ``s``); then ``-ing`` and ``-ed`` (not ``-eed``) when a vowel stays before them,
    undoubling a final consonant (``cropping`` -> ``crop``); then a final ``e``.

    References
    ----------
    Harman, D. (1991). How effective is suffixing? JASIS 42(1), 7-15.
    """
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and not w.endswith(("eies", "aies")):
        w = w[:-3] + "y"
    elif w.endswith(("sses", "ches", "shes", "xes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and not w.endswith("eed"):
            base = w[: -len(suffix)]
            if len(base) >= 3 and _has_vowel(base):
                w = base
                if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiouylsz":
                    w = w[:-1]
                break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


def normalise(text: str) -> list[str]:
    """The stems of the words of ``text``, stop words included, in order."""
    return [stem(w) for w in words(text)]


# --------------------------------------------------------------------------- index


@dataclass(frozen=True)
class SearchDocument:
    """A record as the ranker sees it: a key and its text fields.

    ``fields`` maps each name of :data:`FIELD_WEIGHTS` to its text (keywords joined
    with spaces).
    """

    key: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Ranked:
    """A document's place in a ranking.

    ``score`` is the BM25F score; ``name_phrase`` is True when the whole query is a
    phrase of the name (those rank first); ``matched`` are the words of the document
    that matched; ``snippet`` is a short passage around the first match.
    """

    key: str
    score: float
    name_phrase: bool
    matched: tuple[str, ...]
    snippet: str


@dataclass
class _Doc:
    key: str
    tf: dict[str, Counter[str]]  # field -> stem -> count (stop words excluded)
    length: dict[str, int]
    raw: dict[str, str]  # folded word -> stem, over all fields
    name_words: list[str]
    name_stems: list[str]


#: Indexed documents by (key, field texts): a search re-indexes only records that
#: changed since the last one (bounded; cleared when full).
_DOC_CACHE: dict[tuple[Any, ...], _Doc] = {}
_DOC_CACHE_MAX = 50_000


def _index(documents: Sequence[SearchDocument]) -> list[_Doc]:
    out = []
    for doc in documents:
        cache_key = (
            doc.key,
            *(doc.fields.get(f, "") for f in FIELD_WEIGHTS),
            doc.fields.get("name", ""),
        )
        hit = _DOC_CACHE.get(cache_key)
        if hit is not None:
            out.append(hit)
            continue
        if len(_DOC_CACHE) >= _DOC_CACHE_MAX:
            _DOC_CACHE.clear()
        tf: dict[str, Counter[str]] = {}
        length: dict[str, int] = {}
        raw: dict[str, str] = {}
        for field in FIELD_WEIGHTS:
            ws = words(doc.fields.get(field, ""))
            stems = [stem(w) for w in ws if w not in STOP_WORDS]
            tf[field] = Counter(stems)
            length[field] = len(stems)
            for w in ws:
                raw.setdefault(w, stem(w))
        name_words = words(doc.fields.get("name", ""))
        indexed = _Doc(doc.key, tf, length, raw, name_words, [stem(w) for w in name_words])
        _DOC_CACHE[cache_key] = indexed
        out.append(indexed)
    return out


@dataclass(frozen=True)
class _QueryTerm:
    word: str
    candidates: dict[str, float]  # stem -> factor


def _query_terms(query: str, docs: Sequence[_Doc]) -> tuple[list[str], list[_QueryTerm]]:
    qwords = words(query)
    if not qwords:
        return [], []
    content = [w for w in qwords if w not in STOP_WORDS] or qwords
    last = qwords[-1]
    terms: list[_QueryTerm] = []
    seen: set[str] = set()
    for i, w in enumerate(content):
        s = stem(w)
        candidates = {s: 1.0}
        is_last = i == len(content) - 1 and w == last
        if is_last and len(w) >= PREFIX_MIN_LENGTH and w not in STOP_WORDS:
            for doc in docs:
                for raw_word, raw_stem in doc.raw.items():
                    if raw_word.startswith(w) and raw_stem not in candidates:
                        candidates[raw_stem] = PREFIX_FACTOR
        key = " ".join(sorted(candidates))
        if key in seen:
            continue
        seen.add(key)
        terms.append(_QueryTerm(w, candidates))
    return qwords, terms


def _name_phrase(qwords: Sequence[str], doc: _Doc) -> bool:
    """Whether the query words appear in a row in the name (last word may be a prefix)."""
    n = len(qwords)
    if n == 0 or n > len(doc.name_words):
        return False
    qstems = [stem(w) for w in qwords]
    for start in range(len(doc.name_words) - n + 1):
        ok = True
        for j in range(n):
            nw, ns = doc.name_words[start + j], doc.name_stems[start + j]
            if qstems[j] == ns:
                continue
            if j == n - 1 and len(qwords[j]) >= PREFIX_MIN_LENGTH and nw.startswith(qwords[j]):
                continue
            ok = False
            break
        if ok:
            return True
    return False


def snippet(text: str, matched: Sequence[str], length: int = SNIPPET_LENGTH) -> str:
    """About ``length`` characters of ``text`` around the first of the ``matched`` words.

    Cut at word boundaries, with ``…`` where text was left out; the start of ``text``
    when no word matches.
    """
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    folded, offsets = _fold_with_offsets(text)
    first = None
    for w in matched:
        m = re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", folded)
        if m and (first is None or m.start() < first):
            first = m.start()
    pos = offsets[first] if first is not None else 0
    start = max(0, pos - length // 3)
    end = min(len(text), start + length)
    start = max(0, end - length)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < pos else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > pos else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def rank(documents: Sequence[SearchDocument], query: str) -> list[Ranked]:
    """Rank ``documents`` for ``query`` with BM25F; documents that do not match are left out.

    Parameters
    ----------
    documents : sequence of SearchDocument
        The collection (its statistics give the inverse document frequencies).
    query : str
        Free text. Words are normalised like the documents (:func:`normalise`); stop
        words are ignored unless the query has nothing else; the last word also
        matches as a prefix (``terr`` finds ``terraces``), at :data:`PREFIX_FACTOR`
        of the score. An empty query returns every document with score 0, by name.

    Returns
    -------
    list of Ranked
        Best first: documents whose name contains the whole query as a phrase, then by
        score, then by name.

    Notes
    -----
    BM25F (Robertson & Zaragoza 2009, eq. 3.18 with one saturation):
    ``tf~ = sum_f w_f tf_f / (1 - b + b len_f / avglen_f)``,
    ``score = sum_t idf(t) tf~ (k1 + 1) / (k1 + tf~)`` with
    ``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))``, weights :data:`FIELD_WEIGHTS`,
    ``k1`` = :data:`K1`, ``b`` = :data:`B`. A query word that matches several stems
    (by prefix) scores its best one.

    References
    ----------
    Robertson, S., Zaragoza, H. (2009). The probabilistic relevance framework: BM25
    and beyond. Foundations and Trends in Information Retrieval 3(4), 333-389.
    doi:10.1561/1500000019
    """
    docs = _index(documents)
    by_key = {d.key: d for d in documents}
    n = len(docs)
    qwords, terms = _query_terms(query, docs)
    if not terms:
        ordered = sorted(docs, key=lambda d: (fold(by_key[d.key].fields.get("name", "")), d.key))
        return [
            Ranked(d.key, 0.0, False, (), snippet(by_key[d.key].fields.get("summary", ""), []))
            for d in ordered
        ]
    avg = {f: (sum(d.length[f] for d in docs) / n if n else 0.0) or 1.0 for f in FIELD_WEIGHTS}
    df: Counter[str] = Counter()
    wanted = {s for t in terms for s in t.candidates}
    for d in docs:
        present = {s for f in FIELD_WEIGHTS for s in d.tf[f] if s in wanted}
        df.update(present)
    idf = {s: math.log(1 + (n - df[s] + 0.5) / (df[s] + 0.5)) for s in wanted}

    results: list[tuple[bool, float, str, Ranked]] = []
    for d in docs:
        total = 0.0
        hit_stems: set[str] = set()
        for term in terms:
            best = 0.0
            for s, factor in term.candidates.items():
                wtf = sum(
                    w * d.tf[f][s] / (1 - B + B * d.length[f] / avg[f])
                    for f, w in FIELD_WEIGHTS.items()
                    if d.tf[f][s]
                )
                if wtf:
                    hit_stems.add(s)
                    best = max(best, factor * idf[s] * wtf * (K1 + 1) / (K1 + wtf))
            total += best
        if total <= 0:
            continue
        matched = tuple(sorted(w for w, s in d.raw.items() if s in hit_stems))
        fields = by_key[d.key].fields
        summary, description = fields.get("summary", ""), fields.get("description", "")
        source = summary if any(w in words(summary) for w in matched) else description
        phrase = _name_phrase(qwords, d)
        ranked = Ranked(d.key, total, phrase, matched, snippet(source or summary, matched))
        results.append((phrase, total, fold(fields.get("name", "")), ranked))
    results.sort(key=lambda r: (not r[0], -r[1], r[2], r[3].key))
    return [r[3] for r in results]


__all__ = [
    "B",
    "FIELD_WEIGHTS",
    "K1",
    "PREFIX_FACTOR",
    "STOP_WORDS",
    "Ranked",
    "SearchDocument",
    "fold",
    "normalise",
    "rank",
    "snippet",
    "stem",
    "words",
]
