"""Reliability and goodput: component failure rates, checkpoints, ETTR, spares (layer 8).

- ``params``: the catalog's reliability.yaml (rates, recovery, checkpoint storage, claims);
- ``failures``: component counts, job failure rate, blast radius, expected interruptions;
- ``checkpoint``: checkpoint cost and Young / Daly / availability-optimal intervals;
- ``goodput``: ETTR, lost time by cause, goodput, tokens per day after failures;
- ``spares``: hot spares per supernode from a Poisson tail.
"""
