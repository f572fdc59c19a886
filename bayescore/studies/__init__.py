"""Reproducible studies built from bayescore's parts.

Each module runs one study end to end (data, fits, scores, figures) and returns a labelled
result that the gallery examples, the command line and the benchmarks share.
"""
