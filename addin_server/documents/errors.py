"""One error type for everything wrong with a document or a spec, naming where the problem is."""

from __future__ import annotations


class DocumentError(ValueError):
    """A file or spec that cannot be used; `problems` lists each one with its place ("slide 3", "slides[2].title")."""

    def __init__(self, message: str, problems: list[str] | None = None, code: str = "invalid_document") -> None:
        super().__init__(message if not problems else f"{message}: " + "; ".join(problems))
        self.message = message
        self.problems = problems or []
        self.code = code
