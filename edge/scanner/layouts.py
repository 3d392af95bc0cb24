"""Keyboard layouts for keyboard-wedge scanners: Linux key codes to characters.

The numeric key codes are those of ``linux/input-event-codes.h`` (the same numbers as
``evdev.ecodes.KEY_*``), kept here so that decoding keystrokes does not need evdev.
A layout maps each key to its character on the base, Shift and AltGr levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType


class Key(IntEnum):
    """The non-character keys the decoder acts on (Linux ``KEY_*`` codes)."""

    TAB = 15
    ENTER = 28
    LEFTCTRL = 29
    LEFTSHIFT = 42
    LEFTALT = 56
    CAPSLOCK = 58
    RIGHTBRACE = 27
    KPENTER = 96
    RIGHTCTRL = 97
    RIGHTSHIFT = 54
    RIGHTALT = 100


KEYPAD_DIGITS: Mapping[int, str] = MappingProxyType(
    {82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9"}
)
"""KEY_KP0 … KEY_KP9, used for Alt+numpad character codes."""

_KEYPAD_OTHERS = {55: "*", 74: "-", 78: "+", 83: ".", 98: "/"}
_SPACE = 57

# Physical key rows in order, as Linux key codes.
_ROW_NUMBER = (41, *range(2, 14))  # ` 1 2 3 4 5 6 7 8 9 0 - =
_ROW_TOP = tuple(range(16, 28))  # q w e r t y u i o p [ ]
_ROW_HOME = (*range(30, 41), 43)  # a s d f g h j k l ; ' \
_ROW_BOTTOM = (86, *range(44, 54))  # <> z x c v b n m , . /

_NONE = "\0"
"""Placeholder in a row string for 'this key types nothing on this level'."""

BASE, SHIFT, ALTGR = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Layout:
    """Characters per key and level; `dead` holds the (key, level) pairs that are dead keys."""

    name: str
    keys: Mapping[int, tuple[str, str, str]]
    dead: frozenset[tuple[int, int]]
    has_altgr: bool

    def char(self, code: int, level: int) -> str | None:
        chars = self.keys.get(code)
        if chars is None or not chars[level]:
            return None
        return chars[level]

    def is_letter(self, code: int) -> bool:
        """Caps Lock applies to this key: its Shift level is its base level in upper case."""
        chars = self.keys.get(code)
        return chars is not None and chars[BASE].isalpha() and chars[SHIFT] == chars[BASE].upper()


def _layout(
    name: str,
    rows: tuple[tuple[str, str], tuple[str, str], tuple[str, str], tuple[str, str]],
    altgr: Mapping[int, str],
    dead: set[tuple[int, int]],
) -> Layout:
    keys: dict[int, tuple[str, str, str]] = {}
    for codes, (base, shifted) in zip(
        (_ROW_NUMBER, _ROW_TOP, _ROW_HOME, _ROW_BOTTOM), rows, strict=True
    ):
        for code, low, high in zip(codes, base, shifted, strict=True):
            keys[code] = (low.strip(_NONE), high.strip(_NONE), "")
    for code, char in altgr.items():
        low, high, _ = keys.get(code, ("", "", ""))
        keys[code] = (low, high, char)
    keys[_SPACE] = (" ", " ", "")
    for code, char in _KEYPAD_OTHERS.items():
        keys[code] = (char, char, "")
    for code, char in KEYPAD_DIGITS.items():
        keys[code] = (char, char, "")
    return Layout(name, MappingProxyType(keys), frozenset(dead), has_altgr=bool(altgr))


US = _layout(
    "us",
    (
        ("`1234567890-=", "~!@#$%^&*()_+"),
        ("qwertyuiop[]", "QWERTYUIOP{}"),
        ("asdfghjkl;'\\", 'ASDFGHJKL:"|'),
        ("\\zxcvbnm,./", "|ZXCVBNM<>?"),
    ),
    altgr={},
    dead=set(),
)

DE = _layout(
    "de",
    (
        ("^1234567890ß´", '°!"§$%&/()=?`'),
        ("qwertzuiopü+", "QWERTZUIOPÜ*"),
        ("asdfghjklöä#", "ASDFGHJKLÖÄ'"),
        ("<yxcvbnm,.-", ">YXCVBNM;:_"),
    ),
    altgr={
        3: "²",
        4: "³",
        8: "{",
        9: "[",
        10: "]",
        11: "}",
        12: "\\",
        16: "@",
        18: "€",
        27: "~",
        50: "µ",
        86: "|",
    },
    dead={(41, BASE), (13, BASE), (13, SHIFT)},
)

FR = _layout(
    "fr",
    (
        ("²&é\"'(-è_çà)=", "\0" + "1234567890°+"),
        ("azertyuiop^$", "AZERTYUIOP¨£"),
        ("qsdfghjklmù*", "QSDFGHJKLM%µ"),
        ("<wxcvbn,;:!", ">WXCVBN?./§"),
    ),
    altgr={
        3: "~",
        4: "#",
        5: "{",
        6: "[",
        7: "|",
        8: "`",
        9: "\\",
        10: "^",
        11: "@",
        12: "]",
        13: "}",
        18: "€",
        27: "¤",
    },
    dead={(26, BASE), (26, SHIFT), (3, ALTGR), (8, ALTGR)},
)

LAYOUTS: Mapping[str, Layout] = MappingProxyType({"us": US, "de": DE, "fr": FR})
"""The supported layouts by name, as used in the ``layout`` config field."""
