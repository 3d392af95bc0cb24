"""``printstation orders-import``: the same importer from the command line, with a
progress bar and an exit status that says whether rows were rejected."""

from __future__ import annotations

from sqlalchemy import func, select

from cloud.db import read_only
from cloud.schema import orders
from cloud.schema_intake import imports
from edge.cli import main

from .conftest import hub_toml

HEADER = "channel,external_id,customer_name,phone,address,sku,qty\n"
GOOD = "jd,J-1,张三,13800138000,广东省深圳市南山区科技园路1号,TEA-1,2\n"
BAD = "jd,J-2,李四,13900139000,北京市朝阳区建国路8号,TEA-1,-2\n"


def test_import_from_the_command_line(tmp_path, engine, db_url, capsys):
    config = hub_toml(tmp_path / "hub", db_url, "mqtt://127.0.0.1:1")
    good = tmp_path / "good.csv"
    good.write_bytes((HEADER + GOOD).encode("gb18030"))
    assert main(["orders-import", str(good), "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert "1 rows, 1 orders accepted, 0 rows rejected" in out.out
    assert "good.csv" in out.err  # the progress bar

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(HEADER + GOOD.replace("J-1", "J-3") + BAD, encoding="utf-8")
    assert main(["orders-import", str(mixed), "--config", str(config)]) == 3
    assert "row 3 (invalid): row 3: 'qty' must be" in capsys.readouterr().out

    no_channel = tmp_path / "no-channel.csv"
    no_channel.write_text(
        "external_id,customer_name,phone,address,sku,qty\n"
        "P-1,王五,13700137000,上海市黄浦区南京东路1号,COLA-1,1\n",
        encoding="utf-8",
    )
    code = main(
        ["orders-import", str(no_channel), "--config", str(config), "--channel", "pinduoduo"]
    )
    assert code == 0
    assert main(["orders-import", str(no_channel), "--config", str(config)]) == 1
    assert "no column channel" in capsys.readouterr().err

    with read_only(engine) as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 3
        assert conn.execute(select(func.count()).select_from(imports)).scalar_one() == 3
