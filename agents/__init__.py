"""The triad agents."""
