"""The emulator's output folder: one PNG per printed page, the raw bytes of each job, and
``jobs.jsonl`` with one record per page (or per job that printed nothing).

Files are numbered ``000001-escpos.png``, ``000002-tspl.png``… in the order they print,
continuing after the highest number already in the folder. PNG and raw files are written to a
temporary name and renamed into place, so a watcher never sees half a file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from edge.emulator.fonts import font

log = logging.getLogger(__name__)

JOURNAL = "jobs.jsonl"
NUMBERED = re.compile(r"^(\d{6,})-")
NOTE_HEIGHT = 40
RED = (220, 0, 0)


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def paper_out_page(page: Image.Image) -> Image.Image:
    """A partial page marked with a red "PAPER OUT" band below what was printed."""
    marked = Image.new("RGB", (page.width, page.height + NOTE_HEIGHT), "white")
    marked.paste(page.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(marked)
    top = page.height
    draw.rectangle((0, top, page.width - 1, top + NOTE_HEIGHT - 1), outline=RED, width=3)
    draw.text(
        (page.width / 2, top + NOTE_HEIGHT / 2), "PAPER OUT", fill=RED, font=font(24), anchor="mm"
    )
    return marked


@dataclass(frozen=True)
class PrintedPage:
    """A page to save: its image, and whether paper ran out while printing it."""

    image: Image.Image
    partial: bool = False


class JobWriter:
    """Writes pages, raw job bytes and the job journal into ``out_dir``. Thread-safe."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._remove_stale_temp_files()
        self._next = self._first_free_number()

    def _remove_stale_temp_files(self) -> None:
        """Half-written files a crash left behind (never renamed into place)."""
        for stale in self.out_dir.glob(".*.tmp"):
            log.info("removing stale temporary file %s", stale.name)
            stale.unlink(missing_ok=True)

    def _first_free_number(self) -> int:
        numbers = [int(m[1]) for p in self.out_dir.iterdir() if (m := NUMBERED.match(p.name))]
        return max(numbers, default=0) + 1

    @property
    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)

    def write(
        self,
        kind: str,
        raw: bytes,
        pages: list[PrintedPage],
        *,
        received_at: float,
        finished_at: float,
        paper: str,
        last_byte_at: float | None = None,
        reason: str = "",
        complete: bool = True,
        peer: str = "",
    ) -> list[dict[str, Any]]:
        """Save one job; with no pages it is recorded as not printed (``reason`` says why)."""
        with self._lock:
            first = self._next
            self._next += max(len(pages), 1)
            raw_name = f"{first:06d}-{kind}.bin"
            self._atomic_write(raw_name, raw)
            base = {
                "kind": kind,
                "bytes": len(raw),
                "raw": raw_name,
                "job": first,
                "received_at": timestamp(received_at),
                "finished_at": timestamp(finished_at),
                "last_byte_at": timestamp(finished_at if last_byte_at is None else last_byte_at),
                "paper": paper,
                "complete": complete,
                "peer": peer,
            }
            records: list[dict[str, Any]] = []
            if not pages:
                records.append(
                    {
                        **base,
                        "seq": first,
                        "file": None,
                        "printed": False,
                        "partial": False,
                        "reason": reason or "not printed",
                    }
                )
            for index, page in enumerate(pages):
                seq = first + index
                suffix = "-partial" if page.partial else ""
                name = f"{seq:06d}-{kind}{suffix}.png"
                image = paper_out_page(page.image) if page.partial else page.image
                self._save_png(name, image)
                records.append(
                    {
                        **base,
                        "seq": seq,
                        "file": name,
                        "printed": True,
                        "partial": page.partial,
                        "page": index + 1,
                        "pages": len(pages),
                        "width": page.image.width,
                        "height": page.image.height,
                        "reason": reason or None,
                    }
                )
            with (self.out_dir / JOURNAL).open("a", encoding="utf-8") as journal:
                journal.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            self._records.extend(records)
        for record in records:
            log.info(
                "job %s page %s: %s",
                record["job"],
                record["seq"],
                record["file"] or f"not printed ({record['reason']})",
            )
        return records

    def _temp_path(self, name: str) -> Path:
        return self.out_dir / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"

    def _atomic_write(self, name: str, data: bytes) -> None:
        temp = self._temp_path(name)
        temp.write_bytes(data)
        temp.replace(self.out_dir / name)

    def _save_png(self, name: str, image: Image.Image) -> None:
        temp = self._temp_path(name)
        image.save(temp, format="PNG")
        temp.replace(self.out_dir / name)
