"""Recorders: turn what a workload does into a Recording (see recording.py for the format)."""
