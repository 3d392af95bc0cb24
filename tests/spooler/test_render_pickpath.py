"""Pick-path order: natural bin order, grouping by bin and SKU, per-order split."""

from __future__ import annotations

from edge.spooler.render.model import PickLine
from edge.spooler.render.pickpath import bin_key, pick_path


def test_bins_sort_naturally_field_by_field():
    bins = ["B-1", "A-10", "", "a-3-1", "A-2", "A-03-2", "A-03-10", "C", "A-2-1"]
    assert sorted(bins, key=bin_key) == [
        "A-2",
        "A-2-1",
        "a-3-1",
        "A-03-2",
        "A-03-10",
        "A-10",
        "B-1",
        "C",
        "",
    ]


def test_zero_padding_does_not_change_the_position():
    assert bin_key("A-03-2")[1] == bin_key("A-3-2")[1]


def test_pick_path_groups_by_bin_and_sku_with_order_split():
    lines = [
        PickLine("A-10-1", "SKU-3", "洗衣液", 1, "1002"),
        PickLine("A-2-3", "SKU-1", "纸巾", 2, "1001"),
        PickLine("A-2-3", "SKU-1", "纸巾", 1, "100"),
        PickLine("A-2-3", "SKU-1", "纸巾", 3, "1001"),
        PickLine("", "SKU-9", "无库位商品", 1, "1001"),
        PickLine("A-2-3", "SKU-0", "牙刷", 1, "1002"),
    ]
    stops = pick_path(lines)
    assert [stop.bin for stop in stops] == ["A-2-3", "A-10-1", ""]
    first = stops[0]
    assert [item.sku for item in first.items] == ["SKU-0", "SKU-1"]
    tissues = first.items[1]
    assert tissues.qty == 6
    assert tissues.orders == (("100", 1), ("1001", 5))
    assert sum(item.qty for stop in stops for item in stop.items) == 9
