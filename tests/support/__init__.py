"""Helpers the tests share, one module each: real processes (process.py), hand-built recordings and
compiled profiles (generate.py), OCI bundles run by runc and crun (oci.py)."""
