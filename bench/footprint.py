"""Benchmark: the station's footprint — memory of all station services together and cold start.

Every station service runs as its own process, as under systemd (kiosk, scanner, spooler,
sync; the sync agent points at a closed port, so it idles in its reconnect loop), with two
emulated network printers and a simulated scanner.

1. **Cold start**: from launching the four processes to the kiosk's ``/healthz`` answering,
   every scanner's socket and the spooler's notify socket in place (what the harness waits
   for before a test), over several starts. Baseline, same run: a bare ``python -c pass``
   and ``python -c "import flask"`` started the same way.
2. **Idle memory**: after start, the services sit idle; RSS and PSS (proportional set size:
   shared pages split between the processes that map them) summed over the services, and
   each process's peak RSS (``VmHWM``).
3. **Camera scanning**: the same with a camera scanner reading a 640×480, 15 fps video with a
   QR code in view every other second (``decode_every = 2``: 7.5 decodes/s), until codes
   have been read for ``--camera-s`` seconds. Baseline, same run: a bare interpreter.

Targets (issue 8): ≤ 150 MB without camera, ≤ 250 MB with; cold start ≤ 3 s.

Usage: python bench/footprint.py [--starts 3] [--idle-s 5] [--camera-s 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.results import Results, add_json_option  # noqa: E402
from edge.store import Store  # noqa: E402
from tests.station.harness import Station  # noqa: E402

SERVICES = ("kiosk", "scanner", "spooler", "sync")
MB = 1024 * 1024


def memory(pid: int) -> dict[str, int]:
    """RSS, peak RSS and PSS of one process, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {k: v.split()[0] for k, _, v in (line.partition(":") for line in status) if v.strip()}
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    pss = next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
    return {
        "rss": int(fields["VmRSS"]) * 1024,
        "hwm": int(fields["VmHWM"]) * 1024,
        "pss": pss * 1024,
    }


def sample(station: Station, seconds: float) -> dict[str, float]:
    """Largest sums of RSS and PSS over the services seen in ``seconds``; peak RSS summed."""
    most = {"rss": 0.0, "pss": 0.0}
    per_service: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    while True:
        taken = {name: memory(proc.pid) for name, proc in station.procs.items()}
        for key, current in most.items():
            most[key] = max(current, sum(m[key] for m in taken.values()) / MB)
        per_service = {name: m["hwm"] for name, m in taken.items()}
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    most["hwm"] = sum(per_service.values()) / MB
    most.update({f"hwm_{name}": value / MB for name, value in per_service.items()})
    return most


def bare_start(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def bare_rss() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    time.sleep(1)
    rss = memory(proc.pid)["rss"] / MB
    proc.kill()
    proc.wait()
    return rss


def make_video(path: Path, seconds: int) -> None:
    """640×480 at 15 fps: a QR code (a product barcode) shown every other second."""
    import cv2
    import numpy as np
    import qrcode

    qr = qrcode.QRCode(border=4, box_size=8)
    qr.add_data("6901234567892")
    qr.make(fit=True)
    code = np.where(np.array(qr.get_matrix()), 0, 255).astype(np.uint8)
    code = np.kron(code, np.ones((8, 8), dtype=np.uint8))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    rng = np.random.default_rng(7)
    for frame_no in range(seconds * 15):
        frame = rng.integers(150, 200, size=(480, 640), dtype=np.uint8)
        if (frame_no // 15) % 2 == 0:
            y, x = (480 - code.shape[0]) // 2, (640 - code.shape[1]) // 2
            frame[y : y + code.shape[0], x : x + code.shape[1]] = code
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()


def camera_reads(station: Station) -> int:
    store = Store(station.config.db_path)
    try:
        found = (
            store.conn().execute("SELECT count(*) FROM scans WHERE source = 'camera'").fetchone()
        )
        return int(found[0])
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=3, help="cold starts to time")
    parser.add_argument("--idle-s", type=float, default=5.0, help="idle sampling time")
    parser.add_argument("--camera-s", type=float, default=20.0, help="camera sampling time")
    add_json_option(parser)
    args = parser.parse_args()
    results = Results("footprint")

    base_pass = statistics.median(bare_start("pass") for _ in range(args.starts))
    base_flask = statistics.median(bare_start("import flask") for _ in range(args.starts))
    base_rss = bare_rss()

    with tempfile.TemporaryDirectory(prefix="ps-footprint-") as tmp:
        root = Path(tmp)
        starts, idle = [], {}
        for n in range(args.starts):
            station = Station(root / f"idle-{n}")
            try:
                began = time.perf_counter()
                station.start(*SERVICES)
                starts.append(time.perf_counter() - began)
                if n == args.starts - 1:
                    time.sleep(1.0)
                    idle = sample(station, args.idle_s)
            finally:
                station.stop()

        video = root / "camera.avi"
        make_video(video, seconds=60)
        camera = Station(
            root / "camera",
            extra_toml=f"""
[scanners.camera]
type = "camera"
device = "{video}"
width = 640
height = 480
fps = 15
decode_every = 2
""",
        )
        try:
            camera.start(*SERVICES)
            camera.wait(lambda: camera_reads(camera) > 0, 30, "a camera read")
            scanning = sample(camera, args.camera_s)
            reads = camera_reads(camera)
        finally:
            camera.stop()

    print(f"station footprint, {len(SERVICES)} services ({', '.join(SERVICES)})")
    print(
        f"cold start to healthy: median {statistics.median(starts):.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in starts)}); target ≤ 3 s"
    )
    print(
        f"  baseline: python -c pass {base_pass * 1000:.0f} ms, "
        f"python -c 'import flask' {base_flask * 1000:.0f} ms"
    )
    for title, figures, target in (
        ("idle", idle, 150),
        (f"camera 640x480 ({reads} reads)", scanning, 250),
    ):
        per = ", ".join(f"{name} {figures[f'hwm_{name}']:.0f}" for name in SERVICES)
        print(
            f"{title}: RSS sum {figures['rss']:.0f} MB, PSS sum {figures['pss']:.0f} MB, "
            f"peak RSS sum {figures['hwm']:.0f} MB ({per}); target ≤ {target} MB"
        )
    print(f"  baseline: one bare interpreter RSS {base_rss:.0f} MB ({base_rss * 4:.0f} MB for 4)")
    cold = statistics.median(starts)
    results.add(
        "cold start to healthy",
        cold,
        "s",
        baseline=base_flask,
        baseline_label="python -c 'import flask'",
        target="≤ 3 s",
        met=cold <= 3,
        group="cold start",
    )
    bare = base_rss * len(SERVICES)
    for title, figures, target in (("idle", idle, 150), ("camera 640×480", scanning, 250)):
        for kind in ("rss", "pss"):
            results.add(
                f"{title}: {kind.upper()} of all services",
                figures[kind],
                "MB",
                baseline=bare,
                baseline_label=f"{len(SERVICES)} bare interpreters",
                target=f"≤ {target} MB",
                met=figures[kind] <= target,
                group="memory",
            )
    results.notes.append(f"camera reads during the sample: {reads}")
    results.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
