"""The ACD's functional core: pure Python, no I/O, no clock; time comes in as ``now``."""
