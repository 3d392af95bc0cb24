"""Keyboard-wedge decoding: a state machine from evdev key events to completed codes.

Fed ``(keycode, value)`` pairs (value 1 = down, 0 = up, 2 = autorepeat) it tracks Shift,
Ctrl, Alt, AltGr and Caps Lock, maps keys through a `Layout`, and returns a code each time the
terminator key (Enter or Tab) completes one. The GS1 group separator arrives as Ctrl+]
(the key right of P), as Alt + numpad 0 2 9, or as a configured substitute character.
Keys it does not know are ignored. Pure: no evdev, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from edge.scanner.gs1 import GS
from edge.scanner.layouts import ALTGR, BASE, KEYPAD_DIGITS, LAYOUTS, SHIFT, Key

Terminator = Literal["enter", "tab"]

KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

_SHIFTS = frozenset({Key.LEFTSHIFT, Key.RIGHTSHIFT})
_CTRLS = frozenset({Key.LEFTCTRL, Key.RIGHTCTRL})
_ENTERS = frozenset({Key.ENTER, Key.KPENTER})
BUFFER_LIMIT = 4096
"""Characters kept for one code; longer input is truncated (and then rejected as too long)."""


class KeyboardDecoder:
    """Turns one keyboard-wedge scanner's key events into codes."""

    def __init__(
        self,
        layout: str = "us",
        *,
        terminator: Terminator = "enter",
        gs_substitute: str | None = None,
        caps_lock: bool = False,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown keyboard layout {layout!r}; known: {', '.join(LAYOUTS)}")
        self._layout = LAYOUTS[layout]
        self._terminator = terminator
        self._gs_substitute = gs_substitute or None
        self._caps = caps_lock
        self._held: set[int] = set()
        self._chars: list[str] = []
        self._alt_digits = ""
        self._dead: str | None = None

    @property
    def caps_lock(self) -> bool:
        return self._caps

    def reset(self) -> None:
        """Forget a partly typed code and the held keys (after the device was lost)."""
        self._held.clear()
        self._chars.clear()
        self._alt_digits = ""
        self._dead = None

    def feed_all(self, events: Iterable[tuple[int, int]]) -> list[str]:
        """Feed several events; return the codes they completed, in order."""
        return [code for code in (self.feed(key, value) for key, value in events) if code]

    def feed(self, key: int, value: int) -> str | None:
        """Feed one key event; return a code when this event completed one."""
        if value == KEY_UP:
            self._held.discard(key)
            if self._is_alt(key) and self._alt_digits and not self._alt_held():
                self._append(_alt_code(self._alt_digits))
                self._alt_digits = ""
            return None
        if value not in (KEY_DOWN, KEY_REPEAT):
            return None
        if key in _SHIFTS or key in _CTRLS or self._is_alt(key) or key == Key.RIGHTALT:
            self._held.add(key)
            return None
        if key == Key.CAPSLOCK:
            if value == KEY_DOWN:
                self._caps = not self._caps
            return None
        return self._press(key)

    def _press(self, key: int) -> str | None:
        if self._held & _CTRLS:
            if key == Key.RIGHTBRACE:
                self._append(GS)
            return None
        if self._alt_held():
            if key in KEYPAD_DIGITS:
                self._alt_digits += KEYPAD_DIGITS[key]
            return None
        if key in _ENTERS or key == Key.TAB:
            pressed: Terminator = "tab" if key == Key.TAB else "enter"
            if pressed == self._terminator:
                return self._finish()
            self._append("\t" if pressed == "tab" else "\r")
            return None
        level = self._level(key)
        char = self._layout.char(key, level)
        if char is None:
            return None
        if (key, level) in self._layout.dead:
            self._flush_dead()
            self._dead = char
            return None
        if self._dead is not None:
            dead, self._dead = self._dead, None
            self._append(dead)
            if char == " ":
                return None
        self._append(char)
        return None

    def _level(self, key: int) -> int:
        if Key.RIGHTALT in self._held and self._layout.has_altgr:
            return ALTGR
        shifted = bool(self._held & _SHIFTS)
        if self._caps and self._layout.is_letter(key):
            shifted = not shifted
        return SHIFT if shifted else BASE

    def _is_alt(self, key: int) -> bool:
        return key == Key.LEFTALT or (key == Key.RIGHTALT and not self._layout.has_altgr)

    def _alt_held(self) -> bool:
        return any(self._is_alt(key) for key in self._held)

    def _append(self, char: str) -> None:
        if self._gs_substitute is not None and char == self._gs_substitute:
            char = GS
        if len(self._chars) < BUFFER_LIMIT:
            self._chars.append(char)

    def _flush_dead(self) -> None:
        if self._dead is not None:
            self._append(self._dead)
            self._dead = None

    def _finish(self) -> str | None:
        self._flush_dead()
        code = "".join(self._chars)
        self._chars.clear()
        return code or None


def _alt_code(digits: str) -> str:
    """The character typed with Alt + numpad digits (leading 0: Windows-1252, else CP437)."""
    number = int(digits) % 256
    if number < 32:
        return chr(number)
    codec = "cp1252" if digits.startswith("0") else "cp437"
    return bytes([number]).decode(codec, errors="replace")
