"""Pallas kernels with XLA reference paths, imported as `workbench.kernels`."""
