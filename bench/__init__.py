"""Benchmarks users run (``mec5g bench ...``); CI does not time anything.

- ``core_bench``       the pure core: the TTP's verify-and-answer on one core, in-memory records.
- ``handshake_bench``  full handshakes over real gRPC (client, MEC, TTP as three processes) against
  a bare gRPC echo chain of the same shape and payload sizes, measured in the same run.
- ``echo``             the echo chain's two servers.
- ``registration_bench``  phases 1 and 2 per entity: operations in the paper's units, µs.
- ``cli``              the ``mec5g bench`` sub-commands.
"""
