"""Built-in tools (see irpilot.tools)."""
