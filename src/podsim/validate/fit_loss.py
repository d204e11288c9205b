"""Losses that the calibration fits minimise over log(predicted / measured) of public cases.

The shipped calibration (``benchmarks/fit_calibration.py`` for compute.yaml,
``podsim.serving.fit`` for serving.yaml) uses Tukey's biweight (:func:`tukey`): about e^2/2 for
small errors, so every case the model describes pulls the value, and constant beyond ``c``, so a
case more than 1.5x off -- a software effect the case fields do not express, such as the 2021
DeepSpeed ZeRO-3 runs or MLPerf v5.1 DeepSeek-R1 -- carries no weight at all.

Measured on cases held out of the fit (``python benchmarks/cross_validate.py``, 5 folds,
2026-11-29; held-out median |error|, training / serving): the median of |log error| -- the
criterion before -- 7.6% / 16.4% (it follows one or two cases per family); Huber's loss 7.1% /
14.6%; Tukey's 6.6% / 15.4% (c = 0.40, host_kernel_s held at 45 us) and 6.6% / 17.2% as shipped
(c = log 1.5, host_kernel_s refitted). A sum of squares lets three 2021 ZeRO-3 runs drag the A100
efficiency 13% down. Tukey's is best on training (54 of 81 within 10%, 3 beyond 35% against 6
for the median); on serving the held-out median moves by +-1.5 points with any such choice: the
serving cases' scatter, not the criterion, sets it.
"""

from __future__ import annotations

import numpy as np

# log(1.5): a case 50% over or 33% under carries no weight; ~4.685 sigma (Tukey's 95%-efficiency
# constant) for sigma = 0.09, the robust (MAD) scale of the log errors over the public cases
TUKEY_C = float(np.log(1.5))
HUBER_DELTA = 0.15  # log error at which the Huber loss turns from quadratic to linear
CRITERIA = ("tukey", "huber", "median")


def tukey(e, c: float = TUKEY_C) -> float:
    """Sum of Tukey's biweight loss: (c^2/6)(1 - (1 - (e/c)^2)^3) within ``c``, c^2/6 beyond."""
    u = np.minimum(np.abs(np.asarray(e, dtype=float)) / c, 1.0)
    return float(np.sum(c * c / 6.0 * (1.0 - (1.0 - u * u) ** 3)))


def huber(e, delta: float = HUBER_DELTA) -> float:
    """Sum of the Huber loss: e^2/2 within ``delta``, delta (|e| - delta/2) beyond."""
    a = np.abs(np.asarray(e, dtype=float))
    return float(np.sum(np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))))


def fit_loss(e, criterion: str = "tukey") -> float:
    """The loss of log errors ``e`` under a criterion of :data:`CRITERIA`."""
    if criterion == "tukey":
        return tukey(e)
    if criterion == "huber":
        return huber(e)
    if criterion == "median":
        return float(np.median(np.abs(np.asarray(e, dtype=float))))
    raise ValueError(f"criterion {criterion!r} not in {CRITERIA}")
