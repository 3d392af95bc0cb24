"""Property-based tests of the camera decoder: any image — noise, blank, tiny, odd shapes and
types, or a file that is not an image at all — gives a list of plausible codes or
:class:`ImageUnreadable`, never a crash; and a code drawn into an image is read back."""

from __future__ import annotations

import numpy as np
import pytest
import qrcode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge.scanner.decode import decode_image, decode_image_file, plausible
from edge.scanner.errors import ImageUnreadable

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=96),
    st.tuples(st.integers(0, 64), st.integers(0, 64), st.sampled_from([1, 2, 3, 4, 5])),
    hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=8),
)
images = st.one_of(
    hnp.arrays(np.uint8, shapes),
    hnp.arrays(np.float32, shapes, elements=st.floats(-1e6, 1e6, width=32)),
    hnp.arrays(np.int16, shapes),
)


@FUZZ
@given(images)
def test_any_array_decodes_to_plausible_codes_or_is_refused(image: np.ndarray) -> None:
    try:
        found = decode_image(image)
    except ImageUnreadable:
        return
    assert all(plausible(code) for code in found)


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from([".png", ".jpg", ".bmp", ".gif", ""]))
def test_any_file_decodes_or_is_refused(tmp_path_factory, raw: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("img") / f"fuzz{suffix}"
    path.write_bytes(raw)
    try:
        found = decode_image_file(path)
    except ImageUnreadable:
        return
    assert all(plausible(code) for code in found)


@pytest.mark.parametrize("seed", range(5))
def test_noise_reads_as_no_code(seed: int) -> None:
    noise = np.random.default_rng(seed).integers(0, 256, size=(480, 640), dtype=np.uint8)
    assert decode_image(noise) == []


@FUZZ
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=40))
def test_a_drawn_qr_code_is_read_back(text: str) -> None:
    qr = qrcode.QRCode(border=4)
    qr.add_data(text)
    qr.make(fit=True)
    modules = np.array(qr.get_matrix(), dtype=np.uint8)
    image = np.kron(np.where(modules == 1, 0, 255), np.ones((6, 6))).astype(np.uint8)
    assert [code.text for code in decode_image(image)] == [text]
