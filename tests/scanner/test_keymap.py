"""Keyboard-wedge decoding: key events in, codes out, for the us, de and fr layouts."""

from __future__ import annotations

import pytest

from edge.scanner.keymap import KeyboardDecoder
from edge.scanner.layouts import KEYPAD_DIGITS, LAYOUTS, Key

GS = "\x1d"
ENTER, TAB, SHIFT, RSHIFT, CTRL, ALT, ALTGR, CAPS = 28, 15, 42, 54, 29, 56, 100, 58
A, B, Q, W, Y, Z, M = 30, 48, 16, 17, 21, 44, 50
ONE, TWO, THREE, NINE, ZERO, MINUS = 2, 3, 4, 10, 11, 12
RIGHTBRACE, LEFTBRACE, KEY_102ND, GRAVE, SPACE, SEMICOLON = 27, 26, 86, 41, 57, 39
KP0, KP2, KP9 = 82, 80, 73


def tap(*keys: int) -> list[tuple[int, int]]:
    """Press and release each key in turn."""
    return [event for key in keys for event in ((key, 1), (key, 0))]


def held(modifier: int, *keys: int) -> list[tuple[int, int]]:
    """Hold `modifier` while tapping `keys`."""
    return [(modifier, 1), *tap(*keys), (modifier, 0)]


def test_key_codes_match_linux_input_event_codes() -> None:
    ecodes = pytest.importorskip("evdev").ecodes
    for key in Key:
        assert getattr(ecodes, f"KEY_{key.name}") == key.value
    for code, digit in KEYPAD_DIGITS.items():
        assert ecodes.KEY[code] == f"KEY_KP{digit}"
    assert ecodes.KEY[A] == "KEY_A" and ecodes.KEY[KEY_102ND] == "KEY_102ND"


def test_us_digits_letters_and_shift() -> None:
    decoder = KeyboardDecoder("us")
    events = [*tap(ONE, TWO), *held(SHIFT, A), *held(RSHIFT, B), *tap(A, MINUS, ENTER)]
    assert decoder.feed_all(events) == ["12ABa-"]


def test_caps_lock_toggles_letters_only() -> None:
    decoder = KeyboardDecoder("us")
    events = [*tap(CAPS, A, ONE), *held(SHIFT, A, ONE), *tap(CAPS, A, ENTER)]
    assert decoder.feed_all(events) == ["A1a!a"]


def test_caps_lock_can_start_on() -> None:
    assert KeyboardDecoder("us", caps_lock=True).feed_all(tap(A, ENTER)) == ["A"]


def test_ctrl_right_bracket_is_group_separator() -> None:
    decoder = KeyboardDecoder("us")
    events = [*tap(ZERO, ONE), *held(CTRL, RIGHTBRACE), *tap(ONE, ZERO, ENTER)]
    assert decoder.feed_all(events) == [f"01{GS}10"]


def test_alt_numpad_029_is_group_separator() -> None:
    decoder = KeyboardDecoder("us")
    events = [*tap(ONE), *held(ALT, KP0, KP2, KP9), *tap(TWO, ENTER)]
    assert decoder.feed_all(events) == [f"1{GS}2"]


def test_alt_numpad_other_codes() -> None:
    decoder = KeyboardDecoder("us")
    # Alt+65 = "A" (code page 437); Alt+0228 = "ä" (Windows-1252)
    kp5, kp6, kp8 = 76, 77, 72
    events = [*held(ALT, kp6, kp5), *held(ALT, KP0, KP2, KP2, kp8), *tap(ENTER)]
    assert decoder.feed_all(events) == ["Aä"]


def test_gs_substitute_character() -> None:
    decoder = KeyboardDecoder("us", gs_substitute="^")
    events = [*tap(ZERO, ONE), *held(SHIFT, 7), *tap(ONE, ENTER)]
    assert decoder.feed_all(events) == [f"01{GS}1"]


def test_tab_terminator() -> None:
    decoder = KeyboardDecoder("us", terminator="tab")
    assert decoder.feed_all([*tap(ONE, TAB), *tap(TWO, TAB)]) == ["1", "2"]


def test_enter_alone_is_not_a_code() -> None:
    assert KeyboardDecoder("us").feed_all(tap(ENTER, ENTER)) == []


def test_unknown_keys_and_values_are_ignored() -> None:
    decoder = KeyboardDecoder("us")
    events = [(999, 1), (999, 0), (1, 1), (59, 1), (ONE, 7), *tap(ONE), (ONE, 2), *tap(ENTER)]
    assert decoder.feed_all(events) == ["11"], "autorepeat (2) types again, F1/Esc are ignored"


def test_reset_drops_partial_code() -> None:
    decoder = KeyboardDecoder("us")
    decoder.feed_all([(SHIFT, 1), *tap(ONE, TWO)])
    decoder.reset()
    assert decoder.feed_all(tap(A, ENTER)) == ["a"], "partial code and held Shift forgotten"


def test_german_qwertz() -> None:
    decoder = KeyboardDecoder("de")
    # z and y swapped; Shift+7 = "/"; AltGr+q = "@"; the key right of P is "+"; <> key
    events = [
        *tap(Y, Z),
        *held(SHIFT, 8),
        *held(ALTGR, Q),
        *tap(RIGHTBRACE, KEY_102ND, MINUS, SEMICOLON),
        *held(SHIFT, ZERO),
        *tap(ENTER),
    ]
    assert decoder.feed_all(events) == ["zy/@+<ßö="]


def test_german_caps_lock_on_umlaut() -> None:
    assert KeyboardDecoder("de", caps_lock=True).feed_all(tap(SEMICOLON, A, ENTER)) == ["ÖA"]


def test_german_dead_circumflex_as_gs_substitute() -> None:
    decoder = KeyboardDecoder("de", gs_substitute="^")
    events = [*tap(ZERO, ONE), *tap(GRAVE, SPACE), *tap(ONE, ZERO, ENTER)]
    assert decoder.feed_all(events) == [f"01{GS}10"]


def test_german_ctrl_plus_key_right_of_p_is_gs() -> None:
    decoder = KeyboardDecoder("de")
    assert decoder.feed_all([*tap(ONE), *held(CTRL, RIGHTBRACE), *tap(TWO, ENTER)]) == [f"1{GS}2"]


def test_french_azerty() -> None:
    decoder = KeyboardDecoder("fr")
    # digits need Shift on AZERTY; unshifted they type & é " …
    events = [
        *held(SHIFT, ONE, TWO, THREE),
        *tap(ONE, TWO, A, Q, W, Z, SEMICOLON, M),
        *held(ALTGR, ZERO),
        *tap(ENTER),
    ]
    assert decoder.feed_all(events) == ["123&éqazwm,@"]


def test_french_caps_lock() -> None:
    decoder = KeyboardDecoder("fr", caps_lock=True)
    assert decoder.feed_all(tap(Q, TWO, ENTER)) == ["Aé"]


def test_french_dead_circumflex_followed_by_letter() -> None:
    decoder = KeyboardDecoder("fr")
    assert decoder.feed_all([*tap(LEFTBRACE, Q, ENTER)]) == ["^a"]


def test_every_layout_types_ascii_digits() -> None:
    for name in LAYOUTS:
        decoder = KeyboardDecoder(name)
        shift = name == "fr"
        digits = [ONE, TWO, THREE, NINE, ZERO]
        events = held(SHIFT, *digits) if shift else tap(*digits)
        assert decoder.feed_all([*events, *tap(ENTER)]) == ["12390"], name


def test_unknown_layout() -> None:
    with pytest.raises(ValueError, match="unknown keyboard layout 'xx'"):
        KeyboardDecoder("xx")
