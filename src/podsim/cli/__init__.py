"""Command-line interface (presentation only)."""
