"""The sanitiser against the shared hostile corpus and generated text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pamtui.sanitize import clean, is_clean
from tests.support.hostile import HOSTILE_STRINGS


def test_hostile_corpus_is_neutralised() -> None:
    for text in HOSTILE_STRINGS:
        shown = clean(text)
        assert is_clean(shown), repr(shown)
        assert "\x1b" not in shown and "\x9b" not in shown


def test_escape_becomes_visible_and_markup_stays_literal() -> None:
    assert clean("\x1b]0;x\x07") == "␛]0;x␇"
    assert clean("[@click=app.quit]x[/]") == "[@click=app.quit]x[/]"
    assert clean("a\u202eb") == "a<U+202E>b"
    assert clean("plain name") == "plain name"


def test_long_text_is_cut() -> None:
    assert clean("x" * 1000, max_length=10) == "x" * 9 + "…"


@given(st.text())
def test_any_text_comes_out_clean(text: str) -> None:
    shown = clean(text, max_length=None)
    assert is_clean(shown)
    for char in shown:
        assert not (ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf"))))
def test_printable_text_is_unchanged(text: str) -> None:
    assert clean(text, max_length=None) == text
