"""Stage 4: hand identities over time and joint smoothing."""
