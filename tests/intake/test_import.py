"""CSV import through :mod:`cloud.importer`: good and bad rows, encodings, mappings,
batches and progress, malformed files, formula injection in the errors export."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from sqlalchemy import func, select

from cloud import importer
from cloud.config import HubConfig
from cloud.db import read_only
from cloud.orders import get_order
from cloud.schema import orders
from cloud.schema_intake import imports

from .conftest import TENANT

HEADER = "channel,external_id,customer_name,phone,address,sku,qty\n"


def run(engine, config, text: str | bytes, **kwargs):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return importer.run(engine, config, TENANT, io.BytesIO(data), **kwargs)


def order_count(engine) -> int:
    with read_only(engine) as conn:
        return conn.execute(select(func.count()).select_from(orders)).scalar_one()


def rows(n: int, start: int = 0) -> str:
    """n orders of two lines each, all clean."""
    out = []
    for i in range(start, start + n):
        who = f"客户{i},138{i:08d},北京市朝阳区建国路{i}号"
        out += [f"jd,J-{i},{who},TEA-1,1", f"jd,J-{i},{who},COLA-1,2"]
    return "\n".join(out) + "\n"


def test_good_rows_go_in_and_bad_rows_are_reported_with_row_numbers(engine, config):
    text = HEADER + (
        "taobao,T-1,张三,13800138000,广东省深圳市南山区科技园路1号,TEA-1,2\n"  # row 2
        "taobao,T-1,张三,13800138000,广东省深圳市南山区科技园路1号,COLA-1,1\n"  # row 3
        "taobao,T-2,李四,13900139000,北京市朝阳区建国路8号,TEA-1,-1\n"  # row 4: negative
        "ebay,T-3,王五,13700137000,上海市黄浦区南京东路1号,TEA-1,1\n"  # row 5: channel
        "taobao,T-4,赵六,13600136000,上海市黄浦区南京东路2号,TEA-1,1\n"  # row 6
        "taobao,T-4,赵六,13600136000,上海市黄浦区南京东路2号,COLA-1,x\n"  # row 7: qty
        "taobao,T-5,钱七,13500135000,上海市黄浦区南京东路3号,TEA-1,3\n"  # row 8
    )
    result = run(engine, config, text)
    answer = result.answer()
    assert answer["rows"] == 7 and answer["accepted"] == 2 and answer["rejected"] == 4
    assert [o["external_id"] for o in answer["orders"]] == ["T-1", "T-5"]
    assert [(e["row"], e["external_id"]) for e in answer["errors"]] == [
        (4, "T-2"),
        (5, "T-3"),
        (6, "T-4"),
        (7, "T-4"),
    ]
    messages = {e["row"]: e["message"] for e in answer["errors"]}
    assert "row 4: 'qty'" in messages[4]
    assert "unknown channel" in messages[5]
    assert messages[6] == messages[7] and "row 7: qty x" in messages[7]
    with read_only(engine) as conn:
        t1 = get_order(conn, answer["orders"][0]["id"])
    assert [(l["sku"], l["qty"]) for l in t1["lines"]] == [("TEA-1", 2), ("COLA-1", 1)]
    assert order_count(engine) == 2
    status = importer.get_import(engine, result.id)
    assert (status["status"], status["rows_done"], status["accepted"], status["rejected"]) == (
        "done",
        7,
        2,
        4,
    )


def test_importing_the_same_file_again_makes_no_second_orders(engine, config):
    text = HEADER + rows(3)
    run(engine, config, text)
    again = run(engine, config, text).answer()
    assert again["accepted"] == 0 and again["rejected"] == 6
    assert {e["reason"] for e in again["errors"]} == {"duplicate"}
    assert order_count(engine) == 3


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8", "utf-8-sig"])
def test_utf8_and_gb18030_files(engine, config, encoding):
    text = HEADER + "douyin,D-1,欧阳娜娜,13800138000,浙江省杭州市西湖区文三路𠀋1号,TEA-1,1\n"
    if encoding == "gbk":
        text = text.replace("𠀋", "")  # GBK has no plane-2 characters; GB18030 has them all
    result = run(engine, config, text.encode(encoding))
    assert result.encoding == ("gb18030" if encoding.startswith("gb") else encoding)
    with read_only(engine) as conn:
        order = get_order(conn, result.orders[0]["id"])
    assert order["customer"]["name"] == "欧阳娜娜"
    assert order["address_parts"]["city"] == "杭州市"


def test_bytes_that_are_not_text_make_the_file_unreadable(engine, config):
    with pytest.raises(importer.ImportFailed, match="neither UTF-8 nor GB18030"):
        run(engine, config, HEADER.encode() + b"\xff\xfe\x00\x81\x30\xff" * 50)
    assert order_count(engine) == 0


def test_a_bad_byte_late_in_the_file_rejects_only_its_row(engine, config):
    # the first 64 KiB are UTF-8, so the file is UTF-8; a GBK row after them is not
    head = (HEADER + rows(700)).encode()
    assert len(head) > importer.SNIFF_BYTES
    late = "taobao,T-9,张三,13800138000,北京市朝阳区建国路1号,TEA-1,1\n".encode("gbk")
    result = run(engine, config, head + late).answer()
    assert result["accepted"] == 700 and result["rejected"] == 1
    assert result["errors"][0]["row"] == 1402
    assert "not text" in result["errors"][0]["message"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no CSV header"),
        ("name,phone\n张三,138\n", "no column channel, external_id"),
        ('"unclosed,header\n', "no CSV header"),
    ],
)
def test_unusable_files_import_nothing(engine, config, text, message):
    with pytest.raises(importer.ImportFailed, match=message):
        run(engine, config, text)
    with read_only(engine) as conn:
        assert conn.execute(select(func.count()).select_from(imports)).scalar_one() == 0


def test_malformed_and_oversized_rows_are_row_errors(engine, config):
    text = (
        HEADER
        + rows(1)
        + "jd,J-X,"
        + "长" * 3000
        + ",13800138000,北京市朝阳区建国路1号,TEA-1,1\n"  # row 4
        + rows(1, start=1)  # rows 5, 6
        + 'jd,J-Y,"unclosed,13800138000,x,TEA-1,1\n'  # row 7 swallows the rest
    )
    result = run(engine, config, text).answer()
    assert result["accepted"] == 2
    errors = {e["row"]: e["message"] for e in result["errors"]}
    assert "row too long" in errors[4] and "malformed CSV" in errors[7]


def test_a_channel_for_the_whole_file_and_a_configured_mapping(engine, config: HubConfig):
    mapped = config.model_copy(
        update={
            "intake": config.intake.model_copy(
                update={
                    "mappings": {
                        "taobao-export": {
                            "external_id": "订单编号",
                            "customer_name": "收货人姓名",
                            "phone": "联系手机",
                            "address": "收货地址",
                            "sku": "商家编码",
                            "qty": "宝贝数量",
                        }
                    }
                }
            )
        }
    )
    text = (
        "订单编号,收货人姓名,联系手机,收货地址,商家编码,宝贝数量,备注\n"
        "TB-1,张三,13800138000,广东省深圳市南山区科技园路1号,TEA-1,2,\n"
    )
    result = run(engine, mapped, text, channel="taobao", mapping="taobao-export").answer()
    assert result["accepted"] == 1, result
    with pytest.raises(importer.ImportFailed, match="订单编号"):
        run(engine, mapped, HEADER + rows(1), mapping="taobao-export")
    with pytest.raises(importer.InvalidInput, match="no CSV mapping"):
        run(engine, mapped, HEADER + rows(1), mapping="nope")
    with pytest.raises(importer.InvalidInput, match="unknown channel"):
        run(engine, mapped, text, channel="ebay", mapping="taobao-export")


def test_batches_commit_as_they_go_and_report_progress(engine, config):
    seen = []

    def progress(p: importer.Progress) -> None:
        with read_only(engine) as conn:
            stored = conn.execute(select(imports.c.rows_done, imports.c.status)).one()
        seen.append((p.rows, p.accepted, tuple(stored)))

    result = run(engine, config, HEADER + rows(120), progress=progress)
    assert result.progress.accepted == 120
    # batch_rows = 50 in the test config: orders are never split across batches
    assert [s[0] for s in seen] == [50, 100, 150, 200, 240]
    assert all(stored == (n, "running") for n, _, stored in seen)
    assert importer.get_import(engine, result.id)["status"] == "done"


def test_formula_cells_are_escaped_in_the_errors_export(engine, config):
    text = HEADER + (
        "taobao,T-1,=cmd|' /C calc'!A0,13800138000,\"+SUM(1,2)\",TEA-1,-1\n"
        "taobao,T-2,@evil,-2+3,\tx,TEA-1,0\n"
    )
    result = run(engine, config, text)
    exported = "".join(importer.errors_csv(engine, result.id))
    cells = list(csv.reader(io.StringIO(exported)))
    assert cells[0][:3] == ["row", "reason", "message"]
    for row in cells[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert "'=cmd|' /C calc'!A0" in cells[1] and "'+SUM(1,2)" in cells[1]
    assert "'@evil" in cells[2] and "'-2+3" in cells[2] and "'\tx" in cells[2]


def test_two_imports_of_one_file_at_once_make_each_order_once(engine, config):
    text = HEADER + rows(120)
    answers: list[dict] = []
    start = threading.Barrier(2)

    def one() -> None:
        start.wait()
        answers.append(run(engine, config, text).answer())

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 2
    assert sum(a["accepted"] for a in answers) == 120
    assert sum(a["rejected"] for a in answers) == 240
    assert all(e["reason"] == "duplicate" for a in answers for e in a["errors"])
    assert order_count(engine) == 120


def test_large_batches_store_orders_exactly(engine, config: HubConfig):
    """Batches of 50 rows or more go in with COPY on PostgreSQL: what is read back is what
    a single insert would have stored."""
    big = config.model_copy(
        update={"intake": config.intake.model_copy(update={"batch_rows": 1000})}
    )
    text = HEADER + "".join(
        f'jd,B-{i},"O\'Brien, {i}",1380013{i:04d},北京市朝阳区建国路{i}号,TEA-1,1\n'
        for i in range(80)
    )
    answer = run(engine, big, text).answer()
    assert answer["accepted"] == 80
    with read_only(engine) as conn:
        order = get_order(conn, answer["orders"][7]["id"])
    assert order["customer"] == {"name": "O'Brien, 7", "phone": "13800130007"}
    assert order["lines"] == [{"sku": "TEA-1", "qty": 1, "name": "绿茶", "price": "5.50"}]
    assert order["address_parts"]["district"] == "朝阳区" and order["total"] == "5.50"
    assert [t["status"] for t in order["timeline"]][:2] == ["received", "checked"]
