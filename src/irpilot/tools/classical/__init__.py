"""Built-in classical tools (no weights): importing this package registers them.

Modules: ``sr`` (x4 interpolation, back-projection), ``denoise`` (BM3D, non-local means,
wavelet, bilateral), ``dehaze`` (dark channel / colour attenuation priors), ``lowlight``
(HSV value curves, LIME, CLAHE), ``deblur`` (blind motion and defocus deblurring with
parametric kernel estimation), ``derain``, ``dejpeg``, ``desnow``.
"""

from __future__ import annotations

from . import deblur, dehaze, dejpeg, denoise, derain, desnow, lowlight, sr  # noqa: F401
