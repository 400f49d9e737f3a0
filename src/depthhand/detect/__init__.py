"""Stage 2: find hands in depth alone."""
