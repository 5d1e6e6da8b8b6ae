"""Matching's public interface: rank in SQL, keep the match table current (decision 0016).

- :func:`rank_candidates_for_offer` / :func:`rank_offers_for_candidate` score in PostgreSQL and
  return the best results with each criterion's points and French label
  (``services.matching.scoring``);
- :func:`refresh_offer_matches` / :func:`refresh_candidate_matches` upsert the ``match`` table
  (``services.matching.refresh``); the worker's handlers call them.
"""

from services.core.ranking.weights import Criterion, Weights
from services.matching.refresh import (
    RefreshResult,
    refresh_candidate_matches,
    refresh_offer_matches,
    retire_offer_matches,
)
from services.matching.scoring import (
    CriterionPoints,
    Explanation,
    RankedCandidate,
    RankedOffer,
    rank_candidates_for_offer,
    rank_offers_for_candidate,
)

__all__ = [
    "Criterion",
    "CriterionPoints",
    "Explanation",
    "RankedCandidate",
    "RankedOffer",
    "RefreshResult",
    "Weights",
    "rank_candidates_for_offer",
    "rank_offers_for_candidate",
    "refresh_candidate_matches",
    "refresh_offer_matches",
    "retire_offer_matches",
]
