"""Tools registered by users from their own checkpoints (see irpilot.tools.base)."""
