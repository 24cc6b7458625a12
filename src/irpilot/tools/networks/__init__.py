"""Built-in pretrained-network tools (see irpilot.tools).

Importing this package registers the tools; no weights load and torch is not imported until
a tool runs (``Tool.setup``).
"""

from . import (  # noqa: F401
    compact_tools,
    derain_cascade,
    dncnn,
    jpeg_ycc,
    lowlight,
    maxim,
    opencv_sr,
    sr_ensemble,
    weather,
)
