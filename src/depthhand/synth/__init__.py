"""Synthetic depth hands: articulated model, scenes, sensor noise, datasets and a live source."""
