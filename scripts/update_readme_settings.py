"""Rewrite README.md's settings tables from the declarations (tests/addin_server/test_config.py holds them equal).

python scripts/update_readme_settings.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addin_server.config import SETTINGS_GROUPS  # noqa: E402
from engine.declared_settings import settings_table  # noqa: E402

README = Path(__file__).resolve().parent.parent / "README.md"
#: The README heading each group's table sits under.
HEADINGS = {
    "Engine settings": "## Engine settings",
    "Server settings": "## Server settings",
    "Entra ID settings": "## Signing in with Microsoft Entra ID",
    "Teams settings": "## Teams: a message extension",
    "Copilot settings": "## Microsoft 365 Copilot: a declarative agent with an API plugin",
}


def main() -> None:
    lines = README.read_text().split("\n")
    for title, classes in SETTINGS_GROUPS.items():
        heading = lines.index(HEADINGS[title])
        start = next(index for index in range(heading, len(lines)) if lines[index].startswith("| variable"))
        end = start
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        lines[start:end] = settings_table(classes).split("\n")
    README.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
