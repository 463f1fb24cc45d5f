"""What every mec5g process shares around the pure core: durable SQLite writes with group commit,
the holder store of devices and MEC credentials, gRPC server start-up (reflection, health, TLS,
call metrics),
the mapping of core errors to gRPC statuses, Prometheus metrics, ECQV wallets, and what the TTP
and the user app share about signed requests and sealed answers.

The role packages (``mec5g.ttp``, ``mec5g.mec``, ``mec5g.ue``) use this and the core; they never
import each other.
"""
