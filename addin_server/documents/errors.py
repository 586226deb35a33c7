"""One error type for everything wrong with a document or a spec, naming where the problem is."""

from __future__ import annotations

from addin_server.errors import BadRequest


class DocumentError(BadRequest):
    """A file or spec that cannot be used; `problems` lists each one with its place ("slide 3", "slides[2].title")."""

    code = "invalid_document"

    def __init__(self, message: str, problems: list[str] | None = None, code: str | None = None) -> None:
        self.problems = list(problems or [])
        full = message if not self.problems else f"{message}: " + "; ".join(self.problems)
        super().__init__(full, code, extra={"problems": self.problems})
