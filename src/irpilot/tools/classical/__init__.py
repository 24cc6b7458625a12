"""Built-in classical tools (no weights): importing this package registers them.

Modules: ``sr`` (x4 interpolation, back-projection), ``denoise`` (BM3D, non-local means,
wavelet, bilateral), ``dehaze`` (dark channel / colour attenuation priors), ``lowlight``
(HSV value curves, LIME, CLAHE), ``deblur`` (blind motion and defocus deblurring with
parametric kernel estimation), ``blind_deblur`` (camera shake: general kernel estimation
and plug-and-play deconvolution), ``derain``, ``dejpeg``, ``desnow``.
"""

from __future__ import annotations

from . import blind_deblur, deblur, dehaze, dejpeg, denoise, derain, desnow, lowlight, sr  # noqa: F401
