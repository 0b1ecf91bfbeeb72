"""The slice of JQL the sandbox understands, parsed into clauses joined by AND plus an ORDER BY.

Anything outside the slice is a 400 with Jira's message shape, so a caller never gets a silently
wrong answer from a query the sandbox did not really run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import JiraError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|>=|<=|!~|=|>|<|~)
      | (?P<punct>[(),])
      | (?P<word>[^\s"'(),=!<>~]+)
    )""",
    re.VERBOSE,
)
OPERATORS = {"=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"}


@dataclass(frozen=True)
class Token:
    kind: str  # string | op | punct | word
    text: str
    position: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    values: tuple[str, ...]  # EMPTY is the empty tuple


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)


def syntax_error(message: str) -> JiraError:
    return JiraError(400, f"Error in the JQL Query: {message}")


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise syntax_error(
                f"The character '{text[position]}' is a reserved JQL character."
                f" (line 1, character {position + 1})"
            )
        kind = match.lastgroup or "word"
        raw = match.group(kind)
        if kind == "string":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append(Token(kind, raw, match.start(kind) + 1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise syntax_error("Expecting more input but reached the end of the query.")
        self.index += 1
        return token

    def parse(self) -> Query:
        clauses: list[Clause] = []
        while self.peek() is not None and self.peek().upper != "ORDER":  # type: ignore[union-attr]
            if clauses:
                joiner = self.take()
                if joiner.upper != "AND":
                    raise self.unsupported(joiner, "only AND joins clauses here")
            clauses.append(self.clause())
        order = self.order_by() if self.peek() is not None else ()
        return Query(tuple(clauses), order)

    def unsupported(self, token: Token, why: str) -> JiraError:
        return syntax_error(
            f"The sandbox does not support '{token.text}' ({why})."
            f" (line 1, character {token.position})"
        )

    def clause(self) -> Clause:
        name = self.take()
        if name.kind not in ("word", "string") or name.upper in ("AND", "OR", "NOT", "ORDER"):
            if name.text == "(" or name.upper in ("OR", "NOT"):
                raise self.unsupported(name, "no parentheses, OR or NOT")
            raise syntax_error(
                f"Expecting a field name but got '{name.text}'. (line 1, character {name.position})"
            )
        operator = self.operator()
        if operator in ("in", "not in"):
            return Clause(name.text, operator, self.value_list())
        if operator in ("is", "is not"):
            empty = self.take()
            if empty.upper not in ("EMPTY", "NULL"):
                raise syntax_error(f"Expecting EMPTY or NULL but got '{empty.text}'.")
            return Clause(name.text, operator, ())
        return Clause(name.text, operator, (self.value(),))

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op" and token.text in OPERATORS:
            return token.text
        if token.upper == "IN":
            return "in"
        if token.upper in ("NOT", "IS"):
            following = self.peek()
            if token.upper == "NOT" and following is not None and following.upper == "IN":
                self.take()
                return "not in"
            if token.upper == "IS":
                if following is not None and following.upper == "NOT":
                    self.take()
                    return "is not"
                return "is"
        raise syntax_error(
            f"Expecting operator but got '{token.text}'. Valid operators are '=', '!=', '>', '>=',"
            f" '<', '<=', 'in', 'not in', 'is', 'is not'. (line 1, character {token.position})"
        )

    def value(self) -> str:
        token = self.take()
        if token.kind == "punct":
            raise syntax_error(
                f"Expecting a value but got '{token.text}'. (line 1, character {token.position})"
            )
        if token.kind == "word" and token.text.endswith(")"):
            raise self.unsupported(token, "no JQL functions")
        following = self.peek()
        if token.kind == "word" and following is not None and following.text == "(":
            raise self.unsupported(token, "no JQL functions")
        return token.text

    def value_list(self) -> tuple[str, ...]:
        opening = self.take()
        if opening.text != "(":
            raise syntax_error(
                f"Expecting '(' but got '{opening.text}'. (line 1, character {opening.position})"
            )
        values = [self.value()]
        while (token := self.take()).text == ",":
            values.append(self.value())
        if token.text != ")":
            raise syntax_error(
                f"Expecting ')' but got '{token.text}'. (line 1, character {token.position})"
            )
        return tuple(values)

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        order, by = self.take(), self.take()
        if order.upper != "ORDER" or by.upper != "BY":
            raise syntax_error(
                f"Expecting 'BY' but got '{by.text}'. (line 1, character {by.position})"
            )
        fields: list[tuple[str, bool]] = []
        while True:
            name = self.take()
            descending = False
            following = self.peek()
            if following is not None and following.upper in ("ASC", "DESC"):
                descending = self.take().upper == "DESC"
            fields.append((name.text, descending))
            following = self.peek()
            if following is None:
                return tuple(fields)
            if self.take().text != ",":
                raise syntax_error("Expecting ',' or the end of the query after an ORDER BY field.")


def parse(text: str) -> Query:
    return _Parser(text or "").parse()
