"""Drop-in APIs of established libraries, backed by cxlens."""
