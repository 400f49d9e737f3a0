"""Stage 6: the Django + Channels backend and web viewer."""
