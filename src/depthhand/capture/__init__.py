"""Stage 1: depth sources (sensors, recordings, synthetic scenes) yielding DepthFrames."""
