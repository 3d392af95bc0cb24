"""The printer back-end interface, its status record and the config fields every printer has.

A back end moves job bytes to one printer over one transport. The calls and what they raise:

``open()``
    Connect to the device. :class:`PrinterOffline` when it cannot be reached.
``write(data)``
    Send one whole job; opens the device first if needed. :class:`PrinterOffline` /
    :class:`PrinterTimeout` / :class:`PaperOut` when nothing of the job reached the printer (safe
    to retry); a :class:`JobInterrupted` subclass when the job broke off after some of it was sent.
``status()``
    Ask the printer how it is. Returns :class:`PrinterStatus` when it answered (or when the
    transport cannot ask, see each back end); raises :class:`PrinterOffline` when it cannot be
    reached and, for network printers, :class:`PrinterTimeout` when it is connected but does not
    answer the status query.
``close()``
    Release the device; never raises for a device that is already gone.
"""

from __future__ import annotations

import contextlib
import functools
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.spooler.render.options import WIDTH_DOTS_BY_MM, RenderOptions, dots_per_mm


@functools.cache
def capabilities() -> dict[str, Any]:
    """python-escpos's printer profiles. It parses them from YAML (most of a second) unless
    a pickle of them is in ``ESCPOS_CAPABILITIES_PICKLE_DIR``, which by default is a new
    temporary directory on every start; keep it in the service's cache directory instead."""
    cache = os.environ.get("CACHE_DIRECTORY") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "printstation"
    )
    with contextlib.suppress(OSError):
        os.makedirs(cache, exist_ok=True)
        if os.access(cache, os.W_OK):
            os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", cache)
    from escpos.capabilities import CAPABILITIES

    return cast(dict[str, Any], CAPABILITIES)


Paper = Literal["ok", "low", "out", "unknown"]


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer reported: reachable and ready (``online``), paper level, and why."""

    online: bool
    paper: Paper = "unknown"
    detail: str = ""


LabelDimension = Annotated[int, Field(ge=20, le=300)]


class PrinterConfigBase(BaseModel):
    """Fields shared by every ``[printers.NAME]`` section, whatever its ``type``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["receipt", "label", "picklist"] = Field(
        description="What this printer prints: receipt (order tickets), label (shipping labels) "
        "or picklist."
    )
    language: Literal["escpos", "tspl"] = Field(
        default="escpos",
        description="Command language: escpos for receipt printers, tspl for label printers "
        "(labels only).",
    )
    profile: str = Field(
        default="default",
        min_length=1,
        max_length=64,
        description="python-escpos capability profile of the printer model, e.g. default, "
        "TM-T88V, TM-T20II; decides which barcode/QR/cut commands are used.",
    )
    width_mm: Literal[58, 80, 100] = Field(
        default=80,
        description="Paper roll width in mm (58 → 384 dots, 80 → 576 dots); the profile's "
        "own width wins when it has one.",
    )
    cjk: Literal["gb18030", "raster"] = Field(
        default="gb18030",
        description="How Chinese text is printed: gb18030 uses the printer's Chinese font; "
        "raster draws it on the station and sends an image (printers without a Chinese font).",
    )
    label_size_mm: tuple[LabelDimension, LabelDimension] = Field(
        default=(100, 150), description="Label width and height in mm (TSPL printers)."
    )
    dpi: Literal[203, 300] = Field(
        default=203, description="Print resolution of a TSPL label printer."
    )
    status_timeout_s: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="How long to wait for the printer's answer to a status query.",
    )
    write_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Longest time one job may take to be accepted by the printer before the "
        "write gives up.",
    )

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        profiles = capabilities()["profiles"]
        if value not in profiles:
            raise ValueError(
                f"unknown printer profile {value!r}; python-escpos knows e.g. "
                f"{', '.join(sorted(profiles)[:8])} …"
            )
        return value

    @model_validator(mode="after")
    def _tspl_prints_labels(self) -> PrinterConfigBase:
        if self.language == "tspl" and self.role != "label":
            raise ValueError(f'a tspl printer can only have role = "label", not {self.role!r}')
        return self

    def render_options(self) -> RenderOptions:
        """The :class:`RenderOptions` for jobs sent to this printer."""
        media = capabilities()["profiles"][self.profile].get("media", {})
        pixels = media.get("width", {}).get("pixels")
        width_dots = pixels if isinstance(pixels, int) else WIDTH_DOTS_BY_MM[self.width_mm]
        if self.language == "tspl":
            width_dots = round(self.label_size_mm[0] * dots_per_mm(self.dpi))
        return RenderOptions(
            language=self.language,
            profile=self.profile,
            width_dots=width_dots,
            cjk=self.cjk,
            label_size_mm=self.label_size_mm,
            dpi=self.dpi,
        )


class PrinterBackend(ABC):
    """One printer on one transport (see the module docstring for the contract)."""

    def __init__(self, config: PrinterConfigBase) -> None:
        self.config = config

    @property
    @abstractmethod
    def description(self) -> str:
        """Human description for messages, e.g. ``network printer 10.0.0.7:9100``."""

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    @abstractmethod
    def status(self) -> PrinterStatus: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> PrinterBackend:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"
