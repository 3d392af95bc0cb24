"""The ``printstation`` command: one entry point for every station service and tool."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge import __version__

if TYPE_CHECKING:
    from edge.config import StationConfig

STATION_SERVICES = ("kiosk", "scanner", "spooler", "sync")


def _service(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from edge import service

        builder: Callable[[StationConfig], service.Service]
        if name == "kiosk":
            from edge.kiosk.server import build as builder
        elif name == "scanner":
            from edge.scanner.runner import build as builder
        elif name == "sync":  # the pairing stand-in while the station has no credentials
            from edge.pairing import build_sync as builder
        else:
            from edge.spooler.service import build as builder
        if name == "kiosk":
            from edge.kiosk.safe_mode import SafeModeService

            return service.run(name, args.config, builder, safe_mode=SafeModeService)
        return service.run(name, args.config, builder)

    return run


def _station(args: argparse.Namespace) -> int:
    from edge.supervisor import run_station

    only = [s.strip() for s in args.only.split(",")] if args.only else list(STATION_SERVICES)
    unknown = set(only) - set(STATION_SERVICES)
    if unknown:
        print(f"unknown services: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    return run_station(args.config, only)


def _check_config(args: argparse.Namespace) -> int:
    import tomllib

    from edge.config import EX_CONFIG, ConfigError, load_config

    try:
        is_hub = "hub" in tomllib.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        is_hub = False
    if is_hub:
        from cloud.config import HubConfigError, load_hub_config

        try:
            load_hub_config(args.file)
        except HubConfigError as err:
            for path, message in err.problems:
                print(f"{err.source}: {path}: {message}", file=sys.stderr)
            return EX_CONFIG
        print(f"{args.file}: ok (hub)")
        return 0

    try:
        config = load_config(args.file)
    except ConfigError as err:
        for path, message in err.problems:
            print(f"{err.source}: {path}: {message}", file=sys.stderr)
        return EX_CONFIG
    print(
        f"{args.file}: ok (station {config.station.id}, {len(config.printers)} printers, "
        f"{len(config.scanners)} scanners)"
    )
    return 0


def _simulate_scan(args: argparse.Namespace) -> int:
    from edge.config import EX_CONFIG, ConfigError, load_config
    from edge.scanner.errors import ScannerError
    from edge.scanner.simulate import simulate_scan

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return EX_CONFIG
    try:
        simulate_scan(args.code, config.runtime_dir, args.scanner)
    except ScannerError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


def _decode(args: argparse.Namespace) -> int:
    from edge.scanner.decode import main

    return main(args.images)


def _emulator(args: argparse.Namespace) -> int:
    from edge.emulator.server import main

    return main(args.rest)


def _staff(args: argparse.Namespace) -> int:
    from edge.config import EX_CONFIG, ConfigError, load_config
    from edge.store import Conflict, Store, staff

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return EX_CONFIG
    store = Store(config.db_path)
    try:
        with store.write() as conn:
            staff.add(conn, args.name, args.pin, role=args.role, badge=args.badge)
    except Conflict as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"staff {args.name} added")
    return 0


def _catalog(args: argparse.Namespace) -> int:
    from edge.config import EX_CONFIG, ConfigError, load_config
    from edge.store import Store, catalog, stock

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return EX_CONFIG
    items = json.loads(Path(args.file).read_text(encoding="utf-8"))
    store = Store(config.db_path)
    with store.write() as conn:
        count = catalog.upsert(conn, items)
        for item in items:
            if item.get("stock"):
                stock.move(conn, item["sku"], int(item["stock"]), "receipt", "catalog import")
    store.close()
    print(f"{count} products imported")
    return 0


def _hub(args: argparse.Namespace) -> int:
    from cloud.service import run

    return run(args.config, args.role)


def _orders_import(args: argparse.Namespace) -> int:
    """Import a marketplace CSV into the hub database, with a progress bar."""
    from tqdm import tqdm

    from cloud import importer
    from cloud.config import EX_CONFIG, HubConfigError, load_hub_config
    from cloud.db import make_engine, migrate
    from cloud.errors import InvalidInput

    try:
        config = load_hub_config(args.config)
    except HubConfigError as err:
        print(err, file=sys.stderr)
        return EX_CONFIG
    tenant = args.tenant or (config.hub.tenants[0] if len(config.hub.tenants) == 1 else None)
    if tenant is None:
        print("name the tenant with --tenant", file=sys.stderr)
        return 2
    path = Path(args.file)
    engine = make_engine(config.hub.database)
    migrate(engine)
    bar = tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name)

    def progress(p: importer.Progress) -> None:
        bar.update(p.bytes_read - bar.n)
        bar.set_postfix(rows=p.rows, accepted=p.accepted, rejected=p.rejected)

    try:
        with path.open("rb") as source:
            result = importer.run(
                engine,
                config,
                tenant,
                source,
                filename=path.name,
                channel=args.channel,
                mapping=args.mapping,
                progress=progress,
            )
    except InvalidInput as err:
        bar.close()
        print(f"{path}: {err}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    bar.update(bar.total - bar.n)
    bar.close()
    p = result.progress
    print(
        f"import {result.id}: {p.rows} rows, {p.accepted} orders accepted, "
        f"{p.rejected} rows rejected"
    )
    for e in result.errors[:20]:
        print(f"  row {e['row']} ({e['reason']}): {e['message']}")
    if p.rejected > 20:
        print(f"  … GET /api/v1/orders/imports/{result.id}/errors.csv lists all {p.rejected}")
    return 0 if p.rejected == 0 else 3


def _hub_user_add(args: argparse.Namespace) -> int:
    import getpass

    from cloud.config import EX_CONFIG, HubConfigError, load_hub_config
    from cloud.db import make_engine, migrate, transaction
    from cloud.errors import HubError
    from cloud.users import add_user

    try:
        config = load_hub_config(args.config)
    except HubConfigError as err:
        print(err, file=sys.stderr)
        return EX_CONFIG
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    engine = make_engine(config.hub.database)
    try:
        migrate(engine)
        with transaction(engine) as conn:
            add_user(conn, args.name, password, args.role)
    except HubError as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"hub user {args.name} added ({args.role})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from edge.demo import run_demo

    return run_demo(Path(args.data), stations=args.stations, port_base=args.port_base)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="printstation", description=__doc__)
    p.add_argument("--version", action="version", version=f"printstation {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a demo: stations with emulated printers and scanners")
    demo.add_argument("--data", default="./demo-data", help="state directory (resumable)")
    demo.add_argument("--stations", type=int, default=2)
    demo.add_argument("--port-base", type=int, default=0, help="first port (0: free ports)")
    demo.set_defaults(func=_demo)

    station = sub.add_parser("station", help="run a station's services, one process each")
    station.add_argument("--config", required=True)
    station.add_argument("--only", help="comma-separated subset of: " + ",".join(STATION_SERVICES))
    station.set_defaults(func=_station)

    for name in STATION_SERVICES:
        svc = sub.add_parser(name, help=f"run the station {name} service")
        svc.add_argument("--config", required=True)
        svc.set_defaults(func=_service(name))

    hub = sub.add_parser("hub", help="run the hub (ingest workers, web API, dn dispatcher)")
    hub.add_argument("--config", required=True)
    hub.add_argument("--role", default="all", choices=("ingest", "web", "all"))
    hub.set_defaults(func=_hub)

    imp = sub.add_parser("orders-import", help="import a marketplace order CSV into the hub")
    imp.add_argument("file")
    imp.add_argument("--config", required=True, help="the hub's TOML config")
    imp.add_argument("--channel", help="channel of every row (when the file has no column)")
    imp.add_argument("--mapping", help="a header mapping named in [intake] mappings")
    imp.add_argument("--tenant", help="tenant (default: the hub's only tenant)")
    imp.set_defaults(func=_orders_import)

    user = sub.add_parser("hub-user-add", help="add a hub dashboard user (viewer/operator/admin)")
    user.add_argument("name")
    user.add_argument("--role", default="viewer", choices=("viewer", "operator", "admin"))
    user.add_argument("--config", required=True, help="the hub's config file")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user.set_defaults(func=_hub_user_add)

    check = sub.add_parser("check-config", help="validate a config file (exit 78 on error)")
    check.add_argument("file")
    check.set_defaults(func=_check_config)

    scan = sub.add_parser("simulate-scan", help="deliver a scan as a real scanner would")
    scan.add_argument("code")
    scan.add_argument("--config", required=True)
    scan.add_argument("--scanner", help="simulated scanner name (default: the first)")
    scan.set_defaults(func=_simulate_scan)

    decode = sub.add_parser("decode", help="decode barcodes in image files (JSON lines)")
    decode.add_argument("images", nargs="+")
    decode.set_defaults(func=_decode)

    emu = sub.add_parser(
        "printer-emulator",
        add_help=False,
        help="network ESC/POS + TSPL printer that renders to PNG",
    )
    emu.set_defaults(func=_emulator)

    staff = sub.add_parser("staff-add", help="add a staff member (PIN, optional badge)")
    staff.add_argument("name")
    staff.add_argument("--pin", required=True)
    staff.add_argument("--badge")
    staff.add_argument("--role", default="packer", choices=("packer", "manager"))
    staff.add_argument("--config", required=True)
    staff.set_defaults(func=_staff)

    cat = sub.add_parser("catalog-import", help="import products (JSON list) into a station")
    cat.add_argument("file")
    cat.add_argument("--config", required=True)
    cat.set_defaults(func=_catalog)

    from edge import backup, doctor

    doctor.add_commands(sub)
    backup.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args, rest = p.parse_known_args(argv)
    if args.command == "printer-emulator":
        args.rest = rest  # the emulator parses its own flags (and --help)
    elif rest:
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
