import numpy as np
import pytest

from portraitmatch.liveness.pad.measurements import FINE_PX, _sample, measure_frame
from portraitmatch.liveness.pad.surface import enclosed_sides, score_medium_border, spectral_peak
from tests.unit.pad.samples import face, texture


def _room() -> np.ndarray:
    t = texture(480, 640, seed=2)
    return np.clip(np.stack([t, t * 0.9, t * 0.8], axis=2), 0, 255).astype(np.uint8)


def _phone_in_room() -> np.ndarray:
    img = _room()
    img[60:430, 190:450] = 15  # the bezel
    img[80:410, 205:435] = 200  # the lit screen
    return img


def test_measurements_have_the_documented_shapes() -> None:
    m = measure_frame(_room(), face(320, 240, 160))
    assert m.thumb.shape == (24, 32) and m.fine_grey.shape == (FINE_PX, FINE_PX)
    assert m.texture.shape == (64, 64)
    assert len(m.edges) == 4 and all(0 <= e.support <= 1 for e in m.edges)
    assert not m.fine_grey.flags.writeable and not m.texture.flags.writeable


def test_a_frame_without_a_face_still_gets_its_frame_level_parts() -> None:
    m = measure_frame(_room(), None)
    assert m.thumb.shape == (24, 32) and len(m.digest) == 16 and m.texture.size == 0


def test_a_screen_around_the_face_shows_edges_on_all_sides_and_a_room_does_not() -> None:
    assert enclosed_sides(measure_frame(_phone_in_room(), face(320, 245, 120))) == 4
    assert enclosed_sides(measure_frame(_room(), face(320, 245, 120))) == 0


def test_identical_frames_share_a_digest() -> None:
    a = _room()
    b = a.copy()
    c = a.copy()
    c[::7, ::7] = np.clip(c[::7, ::7].astype(int) + 1, 0, 255).astype(np.uint8)
    f = face()
    assert measure_frame(a, f).digest == measure_frame(b, f).digest
    assert measure_frame(a, f).digest != measure_frame(c, f).digest


def test_border_fraction_and_minimum_frames() -> None:
    assert score_medium_border([4] * 10, 0.2).fired
    assert not score_medium_border([0, 1, 2] * 4, 0.2).fired
    assert score_medium_border([4, 4], 0.2).score is None


def test_a_periodic_pattern_gives_a_spectral_peak() -> None:
    xx = np.mgrid[0:64, 0:64][1]
    stripes = (128 + 40 * np.sin(2 * np.pi * xx / 3.1)).astype(np.float32)
    assert spectral_peak(stripes) > 3 * spectral_peak(texture(64, 64))
    assert spectral_peak(np.zeros((0, 0), np.float32)) is None


def test_non_rgb_input_is_refused() -> None:
    with pytest.raises(ValueError):
        measure_frame(np.zeros((10, 10), np.uint8), None)


@pytest.mark.parametrize(
    ("x0", "y0", "sx", "sy"), [(0.0, 0.0, 5.0, 5.0), (-40.0, 300.0, 3.3, 2.1), (600.0, -9.0, 7.5, 9.0)]
)
def test_sampling_picks_the_nearest_pixels_clipped_to_the_frame(
    x0: float, y0: float, sx: float, sy: float
) -> None:
    pixels = np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    xs = np.clip((x0 + (np.arange(128) + 0.5) * sx).astype(np.intp), 0, 639)
    ys = np.clip((y0 + (np.arange(96) + 0.5) * sy).astype(np.intp), 0, 479)
    assert np.array_equal(_sample(pixels, x0, y0, sx, sy, 128, 96), pixels[ys[:, None], xs[None, :]])


def test_fine_crop_maps_image_positions_both_ways() -> None:
    pixels = np.zeros((480, 640, 3), np.uint8)
    pixels[200:204, 300:304] = 255  # a bright 4x4 dot centred on (301.5, 201.5)
    m = measure_frame(pixels, face(310.0, 210.0, 100.0))
    assert m.fine_grey.shape == (FINE_PX, FINE_PX) and m.fine_grey.dtype == np.uint8
    assert not m.fine_grey.flags.writeable
    where = m.to_fine(np.array([[301.5, 201.5]]))[0]
    ys, xs = np.nonzero(m.fine_grey > 0)
    w = m.fine_grey[ys, xs].astype(float)
    np.testing.assert_allclose([np.average(xs, weights=w), np.average(ys, weights=w)], where, atol=0.3)
    np.testing.assert_allclose(m.from_fine(m.to_fine(np.array([[12.3, 45.6]]))), [[12.3, 45.6]], atol=1e-9)
