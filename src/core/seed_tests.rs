//! Ports of Twisted's `test_procmon.py`, driven by a fake host and a fake clock.
