"""Network back end against the printer emulator: jobs print, status follows the printer."""

from __future__ import annotations

import pytest

from edge.emulator.server import PrinterEmulator
from edge.spooler.backends import NetworkBackend, NetworkPrinterConfig, render_options
from edge.spooler.errors import PrinterOffline
from edge.spooler.render import render
from edge.spooler.render.samples import sample_label, sample_picklist, sample_ticket


@pytest.fixture
def emulator(tmp_path):
    with PrinterEmulator(port=0, out_dir=tmp_path / "out") as printer:
        yield printer


def network(port: int, **fields) -> NetworkBackend:
    fields.setdefault("role", "receipt")
    return NetworkBackend(
        NetworkPrinterConfig(
            type="network", host="127.0.0.1", port=port, status_timeout_s=2, **fields
        )
    )


def test_receipt_jobs_print_over_one_connection(emulator):
    backend = network(emulator.port)
    options = render_options(backend.config)
    backend.write(render("ticket", sample_ticket(), options))
    backend.write(render("picklist", sample_picklist(), options))
    records = emulator.wait_for_jobs(2, timeout=10)
    assert [record["printed"] for record in records] == [True, True]
    assert emulator.status()["connections"] == 1
    status = backend.status()
    assert (status.online, status.paper) == (True, "ok")
    backend.close()


def test_status_follows_paper_and_online_state(emulator):
    backend = network(emulator.port)
    emulator.set_paper("low")
    assert backend.status().paper == "low"
    emulator.set_paper("out")
    status = backend.status()
    assert (status.online, status.paper) == (True, "out")
    emulator.set_paper("ok")
    emulator.set_online(False)
    assert backend.status().online is False
    backend.close()
    with pytest.raises(PrinterOffline, match="closed the connection during a status query"):
        backend.status()


def test_tspl_label_prints_and_status_answers(tmp_path):
    with PrinterEmulator(port=0, out_dir=tmp_path / "labels", language="tspl") as emulator:
        backend = network(emulator.port, role="label", language="tspl")
        assert backend.status().paper == "ok"
        backend.write(render("label", sample_label(), render_options(backend.config)))
        (record,) = emulator.wait_for_jobs(1, timeout=10)
        assert record["printed"]
        emulator.set_paper("out")
        assert backend.status().paper == "out"
        backend.close()
