"""Valuation: business sections that read the assessments (market strategy, value)."""
