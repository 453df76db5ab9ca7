"""wmplan agents."""
