"""wmplan envs."""
