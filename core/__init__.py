"""The scheme of Braeken & Liyanage (2021), phases 1 to 3, and our phases 4 to 6, as pure
functions and state.

Nothing in this package performs I/O: no sockets, no event loop, no database. Every module takes
bytes and immutable state in and gives bytes and new state out, in the manner of h11 and wsproto,
so that the same code runs under gRPC, in property tests and against the test vectors.

Modules, one concept each:

- ``primitives``   H1/H2 (SHAKE128), XOR, constant-time comparison, the counter nonce, HKDF.
- ``messages``     M1..M4: exact layouts and sizes, parsed with every length checked.
- ``errors``       what can go wrong, split into malformed input and authentication failure.
- ``credentials``  (DID, DK) pairs, record rules and scheme versions, the holder's attempt state.
- ``records``      the TTP's per-credential record and the two record rules' transitions.
- ``device_role``  what the IoT device computes (steps 1 and 5 of SPEC.md).
- ``mec_role``     what the MEC edge node computes (steps 2 and 4).
- ``ttp_role``     what the TTP computes (step 3), with uniform failure.
- ``handle``       the analysis handle that travels beside M3 (our addition).
- ``operations``   counting Table 1's operations (Th, Ts, Tm, Ta), ours apart from the paper's.
- ``handshake``    one whole handshake over in-memory parties, for vectors, tests and benchmarks.
- ``vectors``      the JSON test-vector interchange format of SPEC.md.
- ``ecqv``         ECQV implicit certificates (SEC 4, P-256): phase 1.
- ``ecqv_vectors`` certificate files (``mec5g ecqv verify``) and their known answers.
- ``user_crypto``  signed user requests and answers sealed to a user's key: phase 2.
- ``profiles``     roles, attributes and access policies, and who may read what.
- ``anonymous_agreement``  the TTP-assisted anonymous key agreement on ECQV identities: the
                   paper's public-key baseline [36], reconstructed, and phases 5 and 6.

Phase 4 (data and analysis, our design):

- ``data_channel`` traffic keys from SK, sealed numbered records, the anti-replay window.
- ``readings``     the payloads: sensor readings and patient check-ins.
- ``news2``        the National Early Warning Score 2 (RCP 2017).

Phases 5 and 6 (user requests and emergencies, ours, on the anonymous key agreement):

- ``user_access``  what the TTP vouches to the MEC; reports under the session key, MEC-signed.
- ``emergency``    when an analysis raises an emergency, once per level and episode.
"""
