"""Readers of the public hand datasets (NYU, ICVL, MSRA, HANDS2017, FPHA): frames + ground truth."""
