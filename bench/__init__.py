"""Benchmarks: each module has a ``main(argv)``; ``python -m bench`` runs them all."""
