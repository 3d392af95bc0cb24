"""Camera scanning: frames from OpenCV `VideoCapture`, decoded by the camera decoder.

Frames are read at most `fps` times a second and every `decode_every`-th frame is decoded.
A code held in view is reported once: the camera's debounce window is long (1.5 s) and
restarts on every sighting. OpenCV is imported only when the camera is opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from edge.scanner.errors import DeviceUnavailable, require_module
from edge.scanner.sources.base import DeviceSource, RawScan, SourceConfig

_CV_HINT = "install the camera extra: pip install 'printstation[camera]'"


class CameraScannerConfig(SourceConfig):
    """A camera (USB webcam, Pi camera through V4L2) pointed at where codes are shown."""

    type: Literal["camera"] = Field(description="Camera decoded with zxing-cpp and zbar.")
    device: int | str = Field(
        0,
        description="Camera index (0 = /dev/video0), or a device path, video file or stream URL.",
    )
    width: int = Field(640, ge=160, le=4096, description="Requested frame width in pixels.")
    height: int = Field(480, ge=120, le=4096, description="Requested frame height in pixels.")
    fps: float = Field(
        15.0, gt=0, le=120, description="Frames read per second at most (limits CPU use)."
    )
    decode_every: int = Field(
        2, ge=1, le=100, description="Decode every Nth frame read (1 = every frame)."
    )
    thorough: bool = Field(
        False,
        description="When a frame yields nothing, also try enhanced variants of it (slower; "
        "reads more damaged or blurred codes).",
    )
    debounce_ms: int = Field(
        1500,
        ge=0,
        le=60_000,
        description="The same code again within this many milliseconds of its last sighting "
        "is dropped, so a code held in view is reported once.",
    )


CaptureOpener = Callable[[CameraScannerConfig], Any]


def open_capture(cfg: CameraScannerConfig) -> Any:
    """Open the configured camera with OpenCV and request its frame size and rate."""
    cv2 = require_module("cv2", _CV_HINT)
    capture = cv2.VideoCapture(cfg.device)
    if not capture.isOpened():
        capture.release()
        raise DeviceUnavailable(
            f"camera {cfg.device!r} cannot be opened — check the cable and that the "
            "printstation user is in the video group"
        )
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, cfg.width)
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, cfg.height)
    capture.set(cv2.CAP_PROP_FPS, cfg.fps)
    # Keep one frame queued so a decoded frame is never seconds old.
    capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return capture


Decoder = Callable[[Any, bool], list[tuple[str, str]]]


def decode_frame(frame: Any, thorough: bool) -> list[tuple[str, str]]:
    """(text as a scanner would send it, format) for each code in a frame."""
    from edge.scanner.decode import decode_image

    return [
        ((code.symbology_id or "") + code.text, code.format)
        for code in decode_image(frame, thorough=thorough)
    ]


class CameraSource(DeviceSource):
    """Reads codes from camera frames."""

    def __init__(
        self,
        name: str,
        cfg: CameraScannerConfig,
        *,
        opener: CaptureOpener = open_capture,
        decoder: Decoder = decode_frame,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, clock=clock)
        self._cfg = cfg
        self._opener = opener
        self._decoder = decoder
        self._capture: Any = None
        self._frames = 0
        self._next_frame = 0.0

    def describe(self) -> str:
        return f"camera {self._cfg.device!r} {self._cfg.width}x{self._cfg.height}"

    def _open_device(self) -> None:
        self._capture = self._opener(self._cfg)
        self._frames = 0

    def _read_device(self, timeout: float) -> list[RawScan]:
        capture = self._capture
        if capture is None:
            raise DeviceUnavailable("camera not open")
        deadline = self._clock() + timeout
        interval = 1.0 / self._cfg.fps
        while not self._closed.is_set():
            now = self._clock()
            if self._next_frame > deadline:
                self._closed.wait(max(0.0, deadline - now))
                return []
            if self._next_frame > now:
                self._closed.wait(self._next_frame - now)
            self._next_frame = max(self._next_frame, self._clock()) + interval
            ok, frame = capture.read()
            if not ok or frame is None:
                raise DeviceUnavailable(f"{self.describe()} stopped delivering frames")
            self._frames += 1
            if self._frames % self._cfg.decode_every == 0:
                found = self._decoder(frame, self._cfg.thorough)
                if found:
                    return [RawScan(text, symbology=fmt) for text, fmt in found]
        return []

    def _close_device(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()
