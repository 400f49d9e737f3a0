"""PyTorch pose networks (training and export only; never imported by the runtime path)."""
