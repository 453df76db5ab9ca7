"""wmplan planners."""
