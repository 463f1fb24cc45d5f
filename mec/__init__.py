"""The MEC edge app: a pool of K credentials enrolled at the TTP, and the key-agreement service
that devices call with M1.

- ``credential_pool``  K independent credentials; each in-flight handshake leases one alone.
- ``service``          the gRPC ``MecKeyAgreementService`` (forwards to the TTP, answers M4).
- ``identity``         the node's own ECQV identity (requested, then reconstructed).
- ``server``           process start-up for ``mec5g mec serve``.
"""
