"""The subset of Lucene's query syntax the sandbox's search understands.

``field:value``, ``field:"a phrase"``, ``field:(a OR b ...)`` (the field applies inside),
``field:[low TO high]`` (numbers, inclusive), ``AND``, ``OR``, parentheses, and bare terms on
the entity's default field. Juxtaposed terms are joined by OR, Lucene's default operator.
Backslash escapes a special character; a hyphen inside a term (an MBID) is part of it. Anything
else (``NOT``, a leading ``+``/``-``, wildcards, fuzzy ``~``, boosts) is refused with
:class:`QueryError`, which the server answers with a 400.

:func:`parse` gives a tree of :class:`Term`, :class:`Range` and :class:`Boolean` nodes; the
server evaluates it against its indexes (``search.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

UNSUPPORTED = set("{}^~*?&|")  # wildcards, fuzziness, boosts, && and ||: not in the subset


class QueryError(ValueError):
    """A query outside the subset, or malformed."""


@dataclass(frozen=True)
class Term:
    field: str | None  # None: the entity's default field
    text: str
    phrase: bool


@dataclass(frozen=True)
class Range:
    field: str | None
    low: int
    high: int


@dataclass(frozen=True)
class Boolean:
    op: str  # "AND" or "OR"
    parts: tuple[Node, ...]


Node = Term | Range | Boolean


def tokenize(query: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs: ``word``, ``phrase``, ``(``, ``)``, ``[``, ``]``, ``:``."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()[]:":
            tokens.append((c, c))
            i += 1
        elif c == '"':
            j, text = i + 1, []
            while j < n and query[j] != '"':
                if query[j] == "\\" and j + 1 < n:
                    j += 1
                text.append(query[j])
                j += 1
            if j >= n:
                raise QueryError("unterminated quote")
            tokens.append(("phrase", "".join(text)))
            i = j + 1
        else:
            text = []
            while i < n and not query[i].isspace() and query[i] not in '()[]:"':
                if query[i] == "\\" and i + 1 < n:
                    i += 1
                elif query[i] in UNSUPPORTED or (not text and query[i] in "+-!"):
                    raise QueryError(f"unsupported syntax {query[i]!r}")
                text.append(query[i])
                i += 1
            tokens.append(("word", "".join(text)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind is not None and token[0] != kind):
            raise QueryError(f"expected {kind or 'a term'}")
        self.at += 1
        return token

    def parse_or(self, field: str | None) -> Node:
        parts = [self.parse_and(field)]
        while True:
            token = self.peek()
            if token is None or token[0] == ")":
                break
            if token == ("word", "OR"):
                self.take()
            parts.append(self.parse_and(field))
        return parts[0] if len(parts) == 1 else Boolean("OR", tuple(parts))

    def parse_and(self, field: str | None) -> Node:
        parts = [self.parse_unary(field)]
        while self.peek() == ("word", "AND"):
            self.take()
            parts.append(self.parse_unary(field))
        return parts[0] if len(parts) == 1 else Boolean("AND", tuple(parts))

    def parse_unary(self, field: str | None) -> Node:
        token = self.peek()
        if token == ("word", "NOT"):
            raise QueryError("NOT is not supported by the sandbox")
        if token is not None and token[0] == "(":
            self.take("(")
            node = self.parse_or(field)
            self.take(")")
            return node
        if token is not None and token[0] == "word" and self._followed_by_colon():
            name = self.take("word")[1].lower()
            self.take(":")
            return self.parse_value(name)
        return self.parse_value(field)

    def _followed_by_colon(self) -> bool:
        return self.at + 1 < len(self.tokens) and self.tokens[self.at + 1][0] == ":"

    def parse_value(self, field: str | None) -> Node:
        token = self.peek()
        if token is None:
            raise QueryError("a field without a value")
        if token[0] == "(":
            self.take("(")
            node = self.parse_or(field)
            self.take(")")
            return node
        if token[0] == "[":
            self.take("[")
            low = self.take("word")[1]
            if self.take("word")[1] != "TO":
                raise QueryError("a range is [low TO high]")
            high = self.take("word")[1]
            self.take("]")
            try:
                return Range(field, int(low), int(high))
            except ValueError:
                raise QueryError("a range needs numbers") from None
        if token[0] == "phrase":
            return Term(field, self.take()[1], True)
        if token[0] == "word" and token[1] not in ("AND", "OR"):
            return Term(field, self.take()[1], False)
        raise QueryError(f"unexpected {token[1]!r}")


def parse(query: str) -> Node:
    """The tree of ``query``; raises :class:`QueryError` outside the subset."""
    tokens = tokenize(query)
    if not tokens:
        raise QueryError("an empty query")
    parser = _Parser(tokens)
    node = parser.parse_or(None)
    if parser.peek() is not None:
        raise QueryError(f"unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return node
