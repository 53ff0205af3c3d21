"""`make bench`: LIF's throughput, latency, rebuild speed, reads and start-up, each beside a raw baseline.

Never collected by pytest and never run by `make test`: the figures depend on the machine and its load.
"""
