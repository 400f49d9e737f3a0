"""Stage 5: table plane, touch / hover / pinch events, projector calibration."""
