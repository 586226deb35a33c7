"""A closed-vocabulary model reads only its own words: the others are left out, not misread as pieces."""

from __future__ import annotations

from engine.prompt_words import keep_known_words

KNOWN = {"one", "star", "black", "green", "background", "red", "circle"}


def test_unknown_words_are_left_out_and_marks_kept():
    assert keep_known_words("One star COLOURED black, green background!", KNOWN) == (
        "one star black , green background !"
    )


def test_a_prompt_of_unknown_words_only_becomes_empty():
    assert keep_known_words("zebra quantum flux", KNOWN) == ""
