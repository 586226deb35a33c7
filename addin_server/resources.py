"""Where the files the server serves live: pages, document templates, manifest templates, task pane scripts.

They are found through `importlib.resources`, so an installed wheel finds them exactly as a source checkout
does. The top-level `templates/` and `manifest/` folders ship inside the wheel as the packages
`addin_server.templates` and `addin_server.manifest_templates` (see `pyproject.toml`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(package: str) -> Path:
    # Flask and Jinja want a real folder; pip installs packages unzipped, so the traversable is one.
    return Path(str(files(package)))


def templates_folder() -> Path:
    """Jinja pages (task pane, sign-in result) and the default `documents/deck.pptx` and `report.docx`."""
    return _folder("addin_server.templates")


def document_templates_folder() -> Path:
    """The default PowerPoint and Word templates."""
    return templates_folder() / "documents"


def manifest_templates_folder() -> Path:
    """The Office add-in manifest templates."""
    return _folder("addin_server.manifest_templates")
