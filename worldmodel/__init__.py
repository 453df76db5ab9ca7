"""wmplan worldmodel."""
