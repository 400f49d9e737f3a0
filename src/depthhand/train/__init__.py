"""Training loops, checkpoints and data pipelines (needs the [train] extra)."""
