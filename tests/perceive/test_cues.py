"""The hand-made crop cues of :mod:`irpilot.perceive.cues`: shape, invariance, and that they
move the way motion blur moves them."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from irpilot.perceive.cues import ANGULAR_BANDS, N_ANGLES, N_CUES, RADIAL_EDGES, crop_cues  # noqa: E402
from irpilot.perceive.model import PerceptionNet  # noqa: E402

_ANG = len(RADIAL_EDGES) - 2  # the angular profiles start after the radial profile


def _texture(size: int = 96, seed: int = 0) -> torch.Tensor:
    """Isotropic random texture (smoothed white noise), (1, 3, size, size)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 1, size + 4, size + 4, generator=g)
    x = torch.nn.functional.avg_pool2d(x, 3, stride=1)[..., :size, :size]
    return x.expand(1, 3, size, size).contiguous()


def _horizontal_blur(x: torch.Tensor, length: int = 9) -> torch.Tensor:
    k = torch.ones(3, 1, 1, length) / length
    return torch.nn.functional.conv2d(torch.nn.functional.pad(x, (length // 2,) * 2 + (0, 0), mode="circular"), k, groups=3)


def test_shape_and_small_inputs():
    assert crop_cues(torch.rand(4, 3, 96, 96)).shape == (4, N_CUES)
    assert N_CUES == _ANG + len(ANGULAR_BANDS) * N_ANGLES + 6
    for shape in [(1, 3, 40, 57), (2, 3, 5, 9), (1, 3, 1, 1)]:
        c = crop_cues(torch.rand(*shape))
        assert c.shape == (shape[0], N_CUES) and torch.isfinite(c).all()


def test_rotation_by_90_degrees_keeps_the_sorted_profiles():
    x = _texture()
    a, b = crop_cues(x)[0], crop_cues(torch.rot90(x, 1, (2, 3)))[0]
    ang = slice(_ANG, _ANG + len(ANGULAR_BANDS) * N_ANGLES)
    assert torch.allclose(a[:_ANG], b[:_ANG], atol=1e-3)  # radial profile: the same power, rotated
    assert torch.allclose(a[ang], b[ang], atol=0.35)  # angular bins move by 90 degrees (up to binning)


def test_motion_blur_makes_the_spectrum_and_gradients_anisotropic():
    x = _texture(seed=1)
    blurred = _horizontal_blur(x)
    c, cb = crop_cues(x)[0], crop_cues(blurred)[0]
    for band in range(1, len(ANGULAR_BANDS)):  # the middle and high bands (the low one: few pixels per bin)
        sl = c[_ANG + band * N_ANGLES : _ANG + (band + 1) * N_ANGLES]
        slb = cb[_ANG + band * N_ANGLES : _ANG + (band + 1) * N_ANGLES]
        assert float(slb[0] - slb[-1]) > float(sl[0] - sl[-1]) + 1.5  # one direction lost its power
    coherence = c[-6], cb[-6]  # full-resolution structure-tensor coherence
    assert float(coherence[1]) > float(coherence[0]) + 0.3
    assert torch.all(cb[:_ANG][-3:] < c[:_ANG][-3:])  # high radial bands lose power


def test_network_with_cues_starts_as_the_network_without():
    """The cue projection starts at zero: weights trained without cues load and give the same outputs."""
    torch.manual_seed(0)
    plain = PerceptionNet(9).eval()
    with_cues = PerceptionNet(9, cues=True).eval()
    missing, unexpected = with_cues.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("cue_") for k in missing)
    x = torch.rand(2, 3, 64, 64)
    for a, b in zip(plain(x), with_cues(x)):
        assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="crop cues"):
        with_cues.head(with_cues.pooled(x))
