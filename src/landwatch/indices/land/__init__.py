"""Land degradation kernels (SDG 15.3.1 sub-indicators)."""
