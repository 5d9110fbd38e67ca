"""In-memory product search index built once from the catalog, queried in a few milliseconds.

How a query is scored:
1. Query text is folded (case, accents, ligatures, plurals) into tokens; phrases that belong to a
   synonym group ("fromage d'alpage" = "Alpkäse") become one *concept* that matches the group.
2. Each token is matched against the index vocabulary: exactly, by prefix, inside a compound word
   ("kase" in "bergkase") or by typo (rapidfuzz ratio), each with a similarity below 1 for inexact hits.
3. A product's score for a concept is the best similarity x field weight (name > synonym > category >
   vendor > label); its query score is the mean over concepts, so products matching every word win.
4. Ties are broken by name then id: the same catalog and query always give the same ranking.
Prices and stock change with every order, so they are not in the index: the service filters them
against the database on the ranked candidates.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from catalog.taxonomy import Taxonomy, base_taxonomy, localized
from catalog.text import fold, tokens

# "head" is the first word of a name: "miel" in "Miel de forêt" weighs more than in "Hydromel (vin de miel)".
FIELD_WEIGHTS = {"head": 1.0, "name": 0.97, "synonym": 0.95, "category": 0.8, "vendor": 0.7, "label": 0.6}
PREFIX_SIMILARITY = 0.9
INFIX_SIMILARITY = 0.85
TYPO_CUTOFF = 75  # rapidfuzz ratio; one typo in a 4-letter word is still found ("mial" -> "miel")
MIN_SCORE = 0.35  # below this mean similarity a product is noise, not a result


@dataclass(frozen=True)
class IndexedProduct:
    """What the index needs to know of a product: its words, not its price or stock."""

    id: int
    names: dict[str, str]
    category: str
    labels: Sequence[str]
    vendor_id: int
    vendor_name: str


@dataclass(frozen=True)
class SearchFilters:
    category: str | None = None
    label: str | None = None
    vendor_id: int | None = None


@dataclass(frozen=True)
class Hit:
    product_id: int
    score: float  # 0-100


@dataclass
class _Concept:
    """One thing the shopper asked for: a synonym group, a word, or both (phrase with its own words)."""

    group_token: str | None = None
    words: list[str] = field(default_factory=list)


def _letter_pairs(token: str) -> list[str]:
    padded = f"^{token}$"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def _group_token(index: int) -> str:
    return f"~syn{index}"


class SearchIndex:
    def __init__(
        self, products: Iterable[IndexedProduct], default_language: str = "fr", taxonomy: Taxonomy | None = None
    ) -> None:
        # The deployment's categories, labels and synonyms (settings.taxonomy); the shipped base by default.
        self.taxonomy = taxonomy or base_taxonomy()
        items = sorted(products, key=lambda p: p.id)
        self.ids = np.array([p.id for p in items], dtype=np.int64)
        self._position = {pid: i for i, pid in enumerate(self.ids.tolist())}
        self._phrases = self._synonym_phrases()
        self._text_cache: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        postings: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        category_of: list[str] = []
        vendor_of: list[int] = []
        label_sets: dict[str, list[int]] = defaultdict(list)
        for pos, product in enumerate(items):
            for field_name, token in self._document_tokens(product):
                bucket = postings[token][field_name]
                if not bucket or bucket[-1] != pos:
                    bucket.append(pos)
            category_of.append(product.category)
            vendor_of.append(product.vendor_id)
            for label in product.labels:
                label_sets[label].append(pos)

        self._postings = {
            token: [(FIELD_WEIGHTS[f], np.array(ids, dtype=np.int32)) for f, ids in fields.items()]
            for token, fields in postings.items()
        }
        self._category = np.array(category_of, dtype=object)
        self._vendor = np.array(vendor_of, dtype=np.int64)
        self._labels = {label: np.array(ids, dtype=np.int32) for label, ids in label_sets.items()}
        # Ties are broken by folded default name, then id.
        names = [fold(localized(p.names, default_language)) for p in items]
        order = sorted(range(len(items)), key=lambda i: (names[i], items[i].id))
        self._tiebreak = np.empty(len(items), dtype=np.int64)
        self._tiebreak[order] = np.arange(len(items))

        self._vocab = sorted(self._postings)
        # Typo candidates are found through shared letter pairs, so a query word is compared with a few
        # hundred vocabulary tokens instead of all of them.
        self._vocab_lengths = np.array([len(t) for t in self._vocab], dtype=np.int32)
        pairs: dict[str, list[int]] = defaultdict(list)
        for i, token in enumerate(self._vocab):
            for pair in set(_letter_pairs(token)):
                pairs[pair].append(i)
        self._pairs = {pair: np.array(ids, dtype=np.int32) for pair, ids in pairs.items()}
        self._blob = "\n".join(self._vocab)
        self._blob_starts = [0]
        for token in self._vocab[:-1]:
            self._blob_starts.append(self._blob_starts[-1] + len(token) + 1)
        self._matches = lru_cache(maxsize=8192)(self._match_token)

    def __len__(self) -> int:
        return len(self.ids)

    # --- building -------------------------------------------------------------------------

    def _synonym_phrases(self) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        """First word -> [(token sequence, group token)] for every synonym phrase."""
        phrases: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for index, group in enumerate(self.taxonomy.synonym_groups):
            for phrase in group:
                words = tuple(tokens(phrase))
                if words:
                    phrases[words[0]].append((words, _group_token(index)))
        return phrases

    def _find_phrases(self, words: list[str] | tuple[str, ...]) -> list[tuple[int, int, str]]:
        """Non-overlapping synonym phrases in `words`: (start, end, group token), longer phrases winning."""
        candidates = [
            (len(phrase), start, group)
            for start, word in enumerate(words)
            for phrase, group in self._phrases.get(word, ())
            if tuple(words[start : start + len(phrase)]) == phrase
        ]
        found = []
        taken = [False] * len(words)
        for length, start, group in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
            if not any(taken[start : start + length]):
                found.append((start, start + length, group))
                taken[start : start + length] = [True] * length
        return sorted(found)

    def _text_tokens(self, field_name: str, text: str) -> tuple[tuple[str, str], ...]:
        """(field, token) pairs of one text, with the synonym groups it contains. Memoised: categories,
        labels and vendor names repeat on thousands of products."""
        key = (field_name, text)
        cached = self._text_cache.get(key)
        if cached is None:
            words = tokens(text)
            groups = [group for _, _, group in self._find_phrases(words)]
            group_field = "synonym" if field_name == "name" else field_name
            fields = ["head" if field_name == "name" and i == 0 else field_name for i in range(len(words))]
            cached = tuple(zip(fields, words, strict=True)) + tuple((group_field, g) for g in groups)
            self._text_cache[key] = cached
        return cached

    def _document_tokens(self, product: IndexedProduct) -> Iterable[tuple[str, str]]:
        texts: list[tuple[str, str]] = [("name", name) for name in product.names.values() if name]
        category = self.taxonomy.categories.get(product.category)
        if category:
            texts += [("category", name) for name in category.names.values()]
        texts.append(("category", product.category))
        for slug in product.labels:
            label = self.taxonomy.labels.get(slug)
            texts += [("label", name) for name in (label.names.values() if label else [slug])]
        texts.append(("vendor", product.vendor_name))
        for field_name, text in texts:
            yield from self._text_tokens(field_name, text)

    # --- querying -------------------------------------------------------------------------

    def _concepts(self, query: str) -> list[_Concept]:
        words = tokens(query)
        concepts: list[_Concept] = []
        cursor = 0
        for start, end, group in self._find_phrases(words):
            concepts += [_Concept(words=[w]) for w in words[cursor:start]]
            concepts.append(_Concept(group_token=group, words=words[start:end]))
            cursor = end
        concepts += [_Concept(words=[w]) for w in words[cursor:]]
        return concepts

    def _match_token(self, word: str) -> tuple[tuple[str, float], ...]:
        """Vocabulary tokens that `word` may mean, with a similarity in (0, 1]."""
        found: dict[str, float] = {}
        if word in self._postings:
            found[word] = 1.0
        if len(word) >= 3:
            start = bisect.bisect_left(self._vocab, word)
            for token in self._vocab[start : start + 50]:
                if not token.startswith(word):
                    break
                found.setdefault(token, PREFIX_SIMILARITY)
        if len(word) >= 4:
            for match in re.finditer(re.escape(word), self._blob):
                pos = bisect.bisect_right(self._blob_starts, match.start()) - 1
                found.setdefault(self._vocab[pos], INFIX_SIMILARITY)
            candidates = self._typo_candidates(word)
            for token, ratio, _ in process.extract(
                word, candidates, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF, limit=8
            ):
                found.setdefault(token, 0.8 * ratio / 100)
        return tuple(sorted(found.items()))

    def token_matches(self, word: str) -> tuple[tuple[str, float], ...]:
        """Vocabulary tokens a folded, stemmed `word` may mean (exact 1.0, prefix, inside a compound, typo), with
        the same similarities the search scores with; memoised. Used by the sentence resolver."""
        return self._matches(word)

    def _typo_candidates(self, word: str) -> list[str]:
        """Tokens of similar length sharing enough letter pairs with `word` to be within two typos of it."""
        word_pairs = set(_letter_pairs(word))
        postings = [self._pairs[p] for p in word_pairs if p in self._pairs]
        if not postings:
            return []
        shared = np.bincount(np.concatenate(postings), minlength=len(self._vocab))
        # Each edit breaks at most two letter pairs; allow two edits.
        enough = shared >= max(1, len(word_pairs) - 4)
        close = np.abs(self._vocab_lengths - len(word)) <= 2
        return [self._vocab[i] for i in np.flatnonzero(enough & close)]

    def _word_scores(self, word: str) -> np.ndarray:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for token, similarity in self._matches(word):
            self._raise(scores, token, similarity)
        return scores

    def _raise(self, scores: np.ndarray, token: str, similarity: float) -> None:
        for weight, positions in self._postings.get(token, ()):
            # Positions are unique within a posting list, so plain fancy indexing is safe (and fast).
            scores[positions] = np.maximum(scores[positions], similarity * weight)

    def _concept_scores(self, concept: _Concept) -> np.ndarray:
        if concept.words:
            words = np.mean([self._word_scores(w) for w in concept.words], axis=0)
        else:
            words = np.zeros(len(self.ids), dtype=np.float32)
        if concept.group_token:
            self._raise(words, concept.group_token, 1.0)
        return words

    def _mask(self, filters: SearchFilters) -> np.ndarray | None:
        mask = None
        if filters.category:
            mask = self._category == filters.category
        if filters.vendor_id is not None:
            vendor = self._vendor == filters.vendor_id
            mask = vendor if mask is None else mask & vendor
        if filters.label:
            label = np.zeros(len(self.ids), dtype=bool)
            label[self._labels.get(filters.label, np.array([], dtype=np.int32))] = True
            mask = label if mask is None else mask & label
        return mask

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 10) -> list[Hit]:
        """Best products for `query`, best first. An empty query lists what the filters allow, by name."""
        filters = filters or SearchFilters()
        if not len(self.ids):  # an empty catalog (a new marketplace) finds nothing, and says so
            return []
        mask = self._mask(filters)
        concepts = self._concepts(query)
        if concepts:
            scored = [self._concept_scores(c) for c in concepts]
            # Words that match nothing in the catalog ("encore", "bitte") are filler, not a missing product.
            scored = [s for s in scored if s.max() > 0] or scored
            total = np.mean(scored, axis=0)
            keep = total >= MIN_SCORE
        else:
            total = np.zeros(len(self.ids), dtype=np.float32)
            keep = np.ones(len(self.ids), dtype=bool) if mask is not None else np.zeros(len(self.ids), bool)
        if mask is not None:
            keep &= mask
        candidates = np.flatnonzero(keep)
        if len(candidates) > limit * 4:
            cut = np.argpartition(-total[candidates], limit * 4)[: limit * 4]
            # Keep every candidate tied with the weakest kept one, so ties are resolved by name, not chance.
            floor = total[candidates[cut]].min()
            candidates = candidates[total[candidates] >= floor]
        rounded = np.round(total[candidates] * 1000)
        order = np.lexsort((self._tiebreak[candidates], -rounded))
        best = candidates[order[:limit]]
        return [Hit(int(self.ids[i]), round(float(total[i]) * 100, 1)) for i in best]
