"""Benchmarks of sb3-gtr (run as modules, e.g. ``python -m sb3_gtr.benchmarks.overhead``)."""
