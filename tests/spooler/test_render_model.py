"""Job payload models: JSON round trip and field-by-field validation."""

from __future__ import annotations

import json

import pytest

from edge.spooler.errors import RenderError
from edge.spooler.render.model import PickList, ShippingLabel, Ticket
from edge.spooler.render.samples import sample_label, sample_picklist, sample_ticket


@pytest.mark.parametrize(
    ("model", "sample"),
    [(Ticket, sample_ticket), (PickList, sample_picklist), (ShippingLabel, sample_label)],
)
def test_models_round_trip_through_json(model, sample):
    parsed = model.from_dict(sample())
    stored = json.loads(json.dumps(parsed.to_dict(), ensure_ascii=False))
    assert model.from_dict(stored) == parsed
    assert stored == sample()


def test_ticket_defaults_for_optional_fields():
    minimal = {
        "store_name": "Shop",
        "order_number": "7",
        "created_at": "2024-05-01T08:00:00",
        "lines": [],
        "subtotal": "0",
        "total": "0",
    }
    ticket = Ticket.from_dict(minimal)
    assert (ticket.currency, ticket.payment, ticket.paid, ticket.language) == (
        "¥",
        "counter",
        False,
        "zh-CN",
    )
    assert ticket.discount == "0" and ticket.tax == "0" and ticket.status_url == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_number": None}, "ticket: missing field 'order_number'"),
        ({"total": "12,50"}, "ticket.total: '12,50' is not a decimal amount"),
        ({"total": "NaN"}, "ticket.total: 'NaN' is not a decimal amount"),
        ({"payment": "cash"}, "ticket.payment: 'cash' is not one of counter, card"),
        ({"paid": "yes"}, "ticket.paid: expected true or false"),
        ({"lines": "none"}, "ticket.lines: expected a list"),
        ({"store_name": ["a"]}, "ticket.store_name: expected a string, got list"),
    ],
)
def test_ticket_validation_names_the_field(change, message):
    with pytest.raises(RenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Ticket.from_dict(sample_ticket(**change))


def test_nested_errors_carry_their_path():
    bad = sample_ticket()
    bad["lines"][1]["qty"] = "two"
    with pytest.raises(RenderError, match=r"ticket\.lines\[1\]\.qty: 'two' is not an integer"):
        Ticket.from_dict(bad)
    label = sample_label()
    del label["recipient"]["address"]
    with pytest.raises(RenderError, match=r"label\.recipient: missing field 'address'"):
        ShippingLabel.from_dict(label)
    with pytest.raises(RenderError, match="picklist: expected an object"):
        PickList.from_dict(["not", "a", "dict"])


def test_label_weight_is_optional():
    assert ShippingLabel.from_dict(sample_label(weight_kg=None)).weight_kg is None
    assert ShippingLabel.from_dict(sample_label(weight_kg="0.5")).weight_kg == "0.5"
