"""The Hangzhou charging-pile fleet simulator: a deterministic source of signed records.

It stands in for the 91 operators, 1,016 stations and 12,258 piles that fed
Hangzhou's 安心充电 platform in 2022, so the platform, the workstation's sync
and its anomaly rules can be exercised at city scale without real meters, and
so that detectors can be scored: every injected fault is written to a
ground-truth file. See docs/fleet-simulator.md for the model and its sources.

Modules: ``model`` (the fleet and its registry), ``tariff`` (time-of-use
prices and the billing computation), ``faults`` (fault kinds, rates, truth
lines), ``generate`` (traffic), ``signing`` (deterministic keys and a
multiprocessing signer), ``send`` (the HTTP client), ``cli``.
"""
