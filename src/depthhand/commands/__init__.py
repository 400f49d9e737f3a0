"""CLI verbs; one module per verb (see :mod:`depthhand.cli`)."""
