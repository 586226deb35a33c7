"""Leave out the prompt words a closed-vocabulary model does not know, so they are ignored, not misread.

The embedded model's tokenizer spells the words of its small language whole, and any other word falls
apart into pieces that can spell a known one ("coloured" holds "red"). A model folder lists the words it
reads under `"known_words"` in its engine_defaults.json; marks such as commas always stay.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_WORD_OR_MARK = re.compile(r"[a-z]+|[^\sa-z]")


def keep_known_words(prompt: str, known: Collection[str]) -> str:
    """`prompt` in lower case, without the words that are not in `known`."""
    parts = _WORD_OR_MARK.findall(prompt.lower())
    return " ".join(part for part in parts if part in known or not part.isalpha())


def unknown_words(prompt: str, known: Collection[str]) -> list[str]:
    """The words of `prompt` the model will leave out, each once, in the order they come (empty: it knows all,
    or reads every word)."""
    if not known:
        return []
    words = [part for part in _WORD_OR_MARK.findall(prompt.lower()) if part.isalpha() and part not in known]
    return list(dict.fromkeys(words))
