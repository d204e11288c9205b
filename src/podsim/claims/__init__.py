"""Vendor claims, checked: each headline figure recomputed from per-chip catalog figures.

``check_claims()`` reads ``catalog/data/claims.yaml`` and returns one result per claim with the
claimed and recomputed values, a verdict (consistent | inconsistent | not computable), the
tolerance, how it was computed and the sources.
"""

from podsim.claims.check import FORMULAS, ClaimResult, check_claims, load_claims

__all__ = ["FORMULAS", "ClaimResult", "check_claims", "load_claims"]
