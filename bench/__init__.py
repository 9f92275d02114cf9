"""`make bench`: the pipeline's loads measured against the machine's floor and the usual peers.

Everything runs on a private local stack (its own PostgreSQL and moto servers on free
ports, in a temporary folder), so it works while `make up` is running. See `bench.cli`.
"""
