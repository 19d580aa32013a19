"""Renderers: each writes the formats it declares from the finished, read-only audit."""
