"""The MEC edge app: a pool of K credentials enrolled at the TTP, the key-agreement service that
devices call with M1, and (phase 4) the data sessions, data service and analyses.

- ``credential_pool``   K independent credentials; each in-flight handshake leases one alone.
- ``service``           the gRPC ``MecKeyAgreementService`` (forwards to the TTP, answers M4).
- ``sessions``          the data sessions a completed handshake opens, by derived session id.
- ``data_service``      the gRPC ``MecDataService`` (sealed records in, sealed acks out).
- ``analysis``          the analyses per pseudonym: latest vital signs, trends, NEWS2.
- ``analysis_service``  the gRPC ``AnalysisService`` (analyses by pseudonym).
- ``identity``          the node's own ECQV identity (requested, then reconstructed).
- ``context_transfer``  a patient's analysis moving to or from another node (handover).
- ``app_enablement``    the node as a MEC app instance of the MEC platform (MEC 011/021).
- ``server``            process start-up for ``mec5g mec serve``.
"""
