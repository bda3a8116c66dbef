"""What a run tells its user: :class:`Note` records, each with the kind of thing it is about."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Note"]


@dataclass(frozen=True)
class Note:
    """Something the user should know about a run: a value changed, a guess made.

    ``kind`` says what it is about, so that callers can de-duplicate without reading the text:
    "input" (how the input was read), "layout" (how its axes were taken), "precision" (values rounded on
    the way), "values" (values changed to fit the output), "format" (what the output format does to any
    values: the same for every file of a batch).
    """

    where: str  # the file or stream it is about: a path, "<stdin>", "<stdout>"
    text: str
    kind: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text

    @classmethod
    def about(cls, where: str, line: str, kind: str) -> Note:
        """The note ``line`` says about ``where`` (a line such as ``"a.png: text"``, as the readers give them)."""
        prefix = where + ": "
        return cls(where, line[len(prefix) :], kind) if line.startswith(prefix) else cls("", line, kind)
