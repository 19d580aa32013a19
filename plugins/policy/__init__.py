"""Policy: verdicts across sections, judged after every assessment and valuation."""
