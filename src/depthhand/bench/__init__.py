"""Named benchmarks for ``depthhand bench`` (results recorded in BENCHMARKS.md).

Every module ``depthhand/bench/<area>.py`` registers its benchmarks with :func:`depthhand.bench.core.benchmark`.
"""
