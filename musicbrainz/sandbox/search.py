"""The sandbox's search indexes: one per entity type, evaluating :mod:`lucene` trees.

Each document has keyword fields (identifiers, compared exactly, case-insensitively), text
fields (compared on normalised words: a term or phrase matches a field value that contains it
word for word; an exact value scores higher) and number fields (``dur``, for ranges). Scores
are scaled so the best hit is 100, as MusicBrainz's search does; ties keep a stable order.
"""

from __future__ import annotations

from collections.abc import Iterable

from musicbrainz.sandbox.lucene import Boolean, Node, Range, Term, parse
from spotify.sandbox.catalogue import normalise

EXACT, CONTAINED = 1.0, 0.6


class SearchIndex:
    """Documents ``id -> {field: [values]}`` for one entity type."""

    def __init__(
        self,
        default_field: str,
        keyword_fields: Iterable[str],
        text_fields: Iterable[str],
        number_fields: Iterable[str] = (),
    ):
        self.default_field = default_field
        self.keyword_fields = frozenset(keyword_fields)
        self.text_fields = frozenset(text_fields)
        self.number_fields = frozenset(number_fields)
        self.order: dict[str, int] = {}
        self._exact: dict[str, dict[str, set[str]]] = {f: {} for f in self.keyword_fields}
        self._words: dict[str, dict[str, set[str]]] = {f: {} for f in self.text_fields}
        self._texts: dict[str, dict[str, list[str]]] = {f: {} for f in self.text_fields}
        self._numbers: dict[str, dict[str, int]] = {f: {} for f in self.number_fields}

    def add(self, doc_id: str, fields: dict[str, list]) -> None:
        self.order.setdefault(doc_id, len(self.order))
        for name, values in fields.items():
            if name in self.keyword_fields:
                for value in values:
                    self._exact[name].setdefault(str(value).lower(), set()).add(doc_id)
            elif name in self.text_fields:
                texts = [normalise(str(v)) for v in values if v]
                self._texts[name][doc_id] = texts
                for text in texts:
                    for word in text.split():
                        self._words[name].setdefault(word, set()).add(doc_id)
            elif name in self.number_fields and values and values[0] is not None:
                self._numbers[name][doc_id] = int(values[0])

    def search(self, query: str) -> list[tuple[str, int]]:
        """``(id, score)`` of every hit, best first; :class:`lucene.QueryError` if malformed."""
        hits = self._eval(parse(query), None)
        if not hits:
            return []
        best = max(hits.values())
        ranked = sorted(hits.items(), key=lambda h: (-h[1], self.order[h[0]]))
        return [(doc_id, max(1, round(100 * score / best))) for doc_id, score in ranked]

    def _eval(self, node: Node, within: set[str] | None) -> dict[str, float]:
        if isinstance(node, Term):
            return self._term(node)
        if isinstance(node, Range):
            numbers = self._numbers.get(node.field or self.default_field, {})
            ids = within if within is not None else numbers.keys()
            return {i: EXACT for i in ids if node.low <= numbers.get(i, -1) <= node.high}
        assert isinstance(node, Boolean)
        if node.op == "OR":
            found: dict[str, float] = {}
            for part in node.parts:
                for doc_id, score in self._eval(part, within).items():
                    found[doc_id] = found.get(doc_id, 0.0) + score
            return found
        # AND: terms first, ranges only over what the terms left (a range alone scans all)
        parts = sorted(node.parts, key=lambda p: isinstance(p, Range))
        result: dict[str, float] | None = None
        for part in parts:
            scores = self._eval(part, set(result) if result is not None else within)
            if result is None:
                result = scores
            else:
                result = {i: result[i] + s for i, s in scores.items() if i in result}
            if not result:
                return {}
        return result or {}

    def _term(self, term: Term) -> dict[str, float]:
        name = term.field or self.default_field
        if name in self.keyword_fields:
            return dict.fromkeys(self._exact[name].get(term.text.lower(), ()), EXACT)
        if name in self.number_fields:
            try:
                value = int(term.text)
            except ValueError:
                return {}
            return {i: EXACT for i, n in self._numbers[name].items() if n == value}
        if name not in self.text_fields:
            return {}  # Lucene: a field no document has matches nothing
        phrase = normalise(term.text)
        words = phrase.split()
        if not words:
            return {}
        candidates = set(self._words[name].get(words[0], ()))
        for word in words[1:]:
            candidates &= self._words[name].get(word, set())
        found = {}
        padded = f" {phrase} "
        for doc_id in candidates:
            texts = self._texts[name][doc_id]
            if phrase in texts:
                found[doc_id] = EXACT
            elif any(padded in f" {text} " for text in texts):
                found[doc_id] = CONTAINED
        return found
