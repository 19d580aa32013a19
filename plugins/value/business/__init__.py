"""Math shared by the market and valuation plugins.

Response curves and their fits, optimal spend and segment allocation, parameters that
may be distributions, the seeded Monte Carlo, NPV and the tornado. Only
:mod:`.distributions` is imported when the plugins load (for config validation); it
imports nothing heavy, the other modules are imported inside hook bodies.
"""
