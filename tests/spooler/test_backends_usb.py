"""USB back end through the real python-escpos and pyusb code, on a simulated libusb."""

from __future__ import annotations

import errno
from types import SimpleNamespace

import pytest
import usb.backend
import usb.core

from edge.spooler.backends import UsbBackend, UsbPrinterConfig
from edge.spooler.errors import JobDisconnected, JobTimedOut, PrinterOffline

VENDOR, PRODUCT = 0x04B8, 0x0E15
BULK = 0x02


class FakeLibusb(usb.backend.IBackend):
    """One USB printer (interface 0, bulk OUT 0x01, bulk IN 0x82) as pyusb's back end sees it."""

    def __init__(self) -> None:
        self.plugged = True
        self.written: list[tuple[int, bytes]] = []
        self.answers: dict[bytes, bytes] = {b"\x10\x04\x01": b"\x12", b"\x10\x04\x04": b"\x12"}
        self.pending = b""
        self.claimed: list[int] = []
        self.configured: list[int] = []
        self.fail_after_writes: int | None = None
        self.fail_with: usb.core.USBError | None = None

    # Descriptors ---------------------------------------------------------------------------
    def enumerate_devices(self):
        if self.plugged:
            yield "printer"

    def get_device_descriptor(self, dev):
        return SimpleNamespace(
            bLength=18,
            bDescriptorType=1,
            bcdUSB=0x0200,
            bDeviceClass=0,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=64,
            idVendor=VENDOR,
            idProduct=PRODUCT,
            bcdDevice=0x0100,
            iManufacturer=0,
            iProduct=0,
            iSerialNumber=0,
            bNumConfigurations=1,
            address=3,
            bus=1,
            port_number=1,
            port_numbers=(1,),
            speed=3,
        )

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError(config)
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=2,
            wTotalLength=32,
            bNumInterfaces=1,
            bConfigurationValue=1,
            iConfiguration=0,
            bmAttributes=0xC0,
            bMaxPower=50,
            extra_descriptors=[],
        )

    def get_interface_descriptor(self, dev, intf, alt, config):
        if intf != 0 or alt != 0:
            raise IndexError(intf)
        return SimpleNamespace(
            bLength=9,
            bDescriptorType=4,
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bNumEndpoints=2,
            bInterfaceClass=7,
            bInterfaceSubClass=1,
            bInterfaceProtocol=2,
            iInterface=0,
            extra_descriptors=[],
        )

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        address = (0x01, 0x82)[ep]
        return SimpleNamespace(
            bLength=7,
            bDescriptorType=5,
            bEndpointAddress=address,
            bmAttributes=BULK,
            wMaxPacketSize=64,
            bInterval=0,
            bRefresh=0,
            bSynchAddress=0,
            extra_descriptors=[],
        )

    # Device handle -------------------------------------------------------------------------
    def open_device(self, dev):
        self._check_plugged()
        return "handle"

    def close_device(self, dev_handle):
        pass

    def set_configuration(self, dev_handle, config_value):
        self.configured.append(config_value)

    def get_configuration(self, dev_handle):
        return 1

    def claim_interface(self, dev_handle, intf):
        self.claimed.append(intf)

    def release_interface(self, dev_handle, intf):
        pass

    def reset_device(self, dev_handle):
        pass

    # Transfers -----------------------------------------------------------------------------
    def bulk_write(self, dev_handle, ep, intf, data, timeout):
        self._check_plugged()
        if self.fail_after_writes is not None and len(self.written) >= self.fail_after_writes:
            if self.fail_with is not None:
                raise self.fail_with
            self.plugged = False
            self._check_plugged()
        payload = bytes(data)
        self.written.append((ep, payload))
        self.pending += self.answers.get(payload, b"")
        return len(payload)

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        self._check_plugged()
        if not self.pending:
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        count = min(len(buff), len(self.pending))
        buff[:count] = type(buff)(buff.typecode, self.pending[:count])
        self.pending = self.pending[count:]
        return count

    def _check_plugged(self):
        if not self.plugged:
            raise usb.core.USBError(
                "No such device (it may have been disconnected)", -4, errno.ENODEV
            )

    def job(self) -> bytes:
        return b"".join(data for ep, data in self.written if ep == 0x01)


def usb_backend(fake: FakeLibusb, **fields) -> UsbBackend:
    config = UsbPrinterConfig(
        type="usb",
        role="receipt",
        vendor_id="04b8",
        product_id="0e15",
        status_timeout_s=0.2,
        **fields,
    )
    return UsbBackend(config, usb_backend=fake)


@pytest.fixture
def fake():
    return FakeLibusb()


def test_job_goes_out_on_the_bulk_endpoint_in_chunks(fake):
    backend = usb_backend(fake)
    job = bytes(range(256)) * 40
    backend.write(job)
    assert fake.job() == job
    assert [len(data) for _, data in fake.written] == [4096, 4096, 2048]
    assert fake.configured == [1]
    assert fake.claimed == [0]
    backend.close()


def test_missing_device_says_check_cable_and_udev_rule(fake):
    fake.plugged = False
    backend = usb_backend(fake)
    message = "USB printer 04b8:0e15 not found — check cable and udev rule"
    with pytest.raises(PrinterOffline, match=message):
        backend.open()
    with pytest.raises(PrinterOffline, match="not found"):
        backend.write(b"job")


@pytest.mark.parametrize(
    ("printer_byte", "paper_byte", "online", "paper"),
    [
        (b"\x12", b"\x12", True, "ok"),
        (b"\x1a", b"\x12", False, "ok"),
        (b"\x12", b"\x72", True, "out"),
    ],
)
def test_status_from_dle_eot_answers(fake, printer_byte, paper_byte, online, paper):
    fake.answers = {b"\x10\x04\x01": printer_byte, b"\x10\x04\x04": paper_byte}
    backend = usb_backend(fake)
    status = backend.status()
    assert (status.online, status.paper) == (online, paper)
    assert fake.job() == b"\x10\x04\x01\x10\x04\x04"
    backend.close()


def test_silent_usb_printer_is_online_with_unknown_paper(fake):
    fake.answers = {}
    backend = usb_backend(fake)
    status = backend.status()
    assert (status.online, status.paper) == (True, "unknown")
    assert "no status answer over USB" in status.detail
    backend.close()


def test_unplug_mid_job_is_a_disconnected_partial_job(fake):
    fake.fail_after_writes = 2
    backend = usb_backend(fake)
    with pytest.raises(JobDisconnected, match="may be partly printed") as caught:
        backend.write(b"x" * 20000)
    assert caught.value.bytes_sent == 8192
    assert isinstance(caught.value, PrinterOffline)
    with pytest.raises(PrinterOffline, match="not found — check cable and udev rule"):
        backend.write(b"next job")
    fake.plugged, fake.fail_after_writes = True, None
    backend.write(b"after replug")
    assert fake.job().endswith(b"after replug")
    backend.close()


def test_unplugged_before_the_job_is_plain_offline(fake):
    backend = usb_backend(fake)
    backend.open()
    fake.plugged = False
    with pytest.raises(PrinterOffline) as caught:
        backend.write(b"job")
    assert not isinstance(caught.value, JobDisconnected)


def test_transfer_timeout_is_a_timed_out_job(fake):
    fake.fail_after_writes = 1
    fake.fail_with = usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
    backend = usb_backend(fake, write_timeout_s=1)
    with pytest.raises(JobTimedOut, match="stopped taking data after 4096 of 10000 bytes"):
        backend.write(b"y" * 10000)


def test_hex_and_integer_ids():
    config = UsbPrinterConfig(
        type="usb", role="receipt", vendor_id="0x04B8", product_id=3605, in_ep="81", out_ep=2
    )
    assert (config.vendor_id, config.product_id, config.in_ep, config.out_ep) == (
        0x04B8,
        0x0E15,
        0x81,
        0x02,
    )
