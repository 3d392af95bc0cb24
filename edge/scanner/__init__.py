"""Scanner service: keyboard-wedge, serial, camera and simulated scanners → scan events.

Pure core: `codes` (hygiene), `gs1`, `debounce`, `keymap`/`layouts` (keystrokes → codes),
`decode` (images → codes). Thin shell: `sources` (devices), `service` (threads),
`delivery` (HTTP to the kiosk), `simulate` (client of the simulated scanner).
"""

from edge.scanner.errors import ScannerError
from edge.scanner.event import ScanEvent

__all__ = ["ScanEvent", "ScannerError"]
