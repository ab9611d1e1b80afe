"""Command-line entry points: evaluate, prefetch, serve."""
