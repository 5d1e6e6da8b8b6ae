"""Contracts found in the public buyers' open data (DECP, decision 0064)."""
