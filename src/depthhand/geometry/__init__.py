"""Pure geometry: projection, crops, augmentation (each function with its inverse)."""
