"""Hot spares per supernode, sized with a Poisson tail (reference C3.3).

Hardware faults that take chips out of service (accelerator, host, NIC) arrive in a scale-up
domain at rate λ_d. A failed field-replaceable unit (a server / compute tray, or a single chip where
the domain is one server) is back after the repair time T_r, so the number out of service at once
is X ~ Poisson(μ = λ_d·T_r). The smallest s with P(X > s) < ε spare units keeps the domain whole
with probability 1 − ε (UB-Mesh: 64+1 NPUs per rack; ByteRobust: pool sized to the P99).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from podsim.errors import SpecError
from podsim.hardware.system import System
from podsim.reliability.failures import chips_per_host, class_failure_rates
from podsim.reliability.params import ReliabilityParams, load_params

#: classes whose fault removes chips from service until repaired
SPARE_CLASSES = ("accelerator", "host", "nic")


def poisson_sf(s, mu) -> np.ndarray:
    """P(X > s) for X ~ Poisson(mu); broadcasts over s (integers >= 0) and mu (>= 0)."""
    s = np.asarray(s)
    mu = np.asarray(mu, float)
    s_b, mu_b = np.broadcast_arrays(s, mu)
    kmax = int(np.max(s_b)) if s_b.size else 0
    # cdf in log space: log pmf_k = -mu + k log mu - log k!
    with np.errstate(divide="ignore"):
        logmu = np.log(np.maximum(mu_b, 1e-300))
    cdf = np.zeros(mu_b.shape)
    logfact = 0.0
    for k in range(kmax + 1):
        if k > 0:
            logfact += math.log(k)
        term = np.where(mu_b > 0, np.exp(-mu_b + k * logmu - logfact), 1.0 if k == 0 else 0.0)
        cdf = cdf + np.where(k <= s_b, term, 0.0)
    return np.clip(1.0 - cdf, 0.0, 1.0)


def spares_needed(mu, eps) -> np.ndarray:
    """Smallest s >= 0 with P(X > s) < eps, X ~ Poisson(mu). Broadcasts over mu and eps."""
    mu = np.asarray(mu, float)
    eps = np.asarray(eps, float)
    if np.any(eps <= 0) or np.any(eps >= 1):
        raise SpecError(
            "epsilon must lie strictly between 0 and 1", field="epsilon", value=float(np.min(eps))
        )
    if np.any(mu < 0):
        raise SpecError("the mean number of failures must not be negative", field="mu")
    mu_b, eps_b = np.broadcast_arrays(mu, eps)
    kmax = int(np.ceil(np.max(mu_b) + 12.0 * np.sqrt(np.max(mu_b)) + 40)) if mu_b.size else 0
    out = np.full(mu_b.shape, -1, dtype=np.int64)
    with np.errstate(divide="ignore"):
        logmu = np.log(np.maximum(mu_b, 1e-300))
    cdf = np.zeros(mu_b.shape)
    logfact = 0.0
    for k in range(kmax + 1):
        if k > 0:
            logfact += math.log(k)
        term = np.where(mu_b > 0, np.exp(-mu_b + k * logmu - logfact), 1.0 if k == 0 else 0.0)
        cdf = cdf + term
        hit = (out < 0) & (1.0 - cdf < eps_b)
        out = np.where(hit, k, out)
        if np.all(out >= 0):
            break
    return np.where(out < 0, kmax, out)


@dataclass(frozen=True)
class SparesPlan:
    system: str
    chips: int
    domain_chips: int
    domains: int
    unit: str  # "server" or "chip": what one spare is
    unit_chips: float
    repair_time_h: float
    epsilon: float
    failures_per_domain_per_hour: float
    mean_out_per_domain: float
    spare_units_per_domain: int | None  # None where the domain is a single server
    spare_chips_per_domain: float | None
    p_exceed_per_domain: float | None
    mean_out_cluster: float
    spare_units_cluster: int
    spare_chips_cluster: float
    spare_fraction: float  # spare chips / working chips

    def to_dict(self) -> dict:
        return asdict(self)


def plan_spares(
    system: System,
    *,
    epsilon: float | None = None,
    repair_time_h: float | None = None,
    params: ReliabilityParams | None = None,
) -> SparesPlan:
    """Hot spares per scale-up domain and for the whole cluster, P(X > s) < ε."""
    p = params or load_params()
    eps = p.spare_epsilon if epsilon is None else epsilon
    tr = p.repair_time_h if repair_time_h is None else repair_time_h
    if tr <= 0:
        raise SpecError("repair time must be positive", field="repair_time", value=tr)
    dom = system.scale_up_domain
    host = chips_per_host(system)
    unit, unit_chips = ("server", host) if host < dom else ("chip", 1.0)
    rates = class_failure_rates(system, dom, p)
    lam_dom = float(sum(float(rates[c]) for c in SPARE_CLASSES))
    domains = max(1, system.chips // dom)
    mu_dom = lam_dom * tr
    mu_cl = mu_dom * domains
    s_cl = int(spares_needed(mu_cl, eps))
    per_dom = dom > host
    s_dom = int(spares_needed(mu_dom, eps)) if per_dom else None
    if per_dom:
        spare_chips = s_dom * unit_chips * domains
    else:
        spare_chips = s_cl * host
    return SparesPlan(
        system=system.id,
        chips=system.chips,
        domain_chips=dom,
        domains=domains,
        unit=unit if per_dom else "server",
        unit_chips=unit_chips if per_dom else host,
        repair_time_h=tr,
        epsilon=eps,
        failures_per_domain_per_hour=lam_dom,
        mean_out_per_domain=mu_dom,
        spare_units_per_domain=s_dom,
        spare_chips_per_domain=(s_dom * unit_chips) if per_dom else None,
        p_exceed_per_domain=float(poisson_sf(s_dom, mu_dom)) if per_dom else None,
        mean_out_cluster=mu_cl,
        spare_units_cluster=s_cl,
        spare_chips_cluster=s_cl * (unit_chips if per_dom else host),
        spare_fraction=spare_chips / system.chips,
    )
