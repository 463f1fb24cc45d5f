"""The TTP (cloud): the key store of every device and MEC credential, operator enrolment, the
key-agreement service that verifies M2 and answers with M3 and the analysis handle, and the
registration centre and CA of phases 1 and 2.

- ``keystore``   the durable record store (SQLite, WAL, group commit) around ``core.ttp_role``.
- ``enrolment``  operator commands creating credentials and handing them to UE and MEC processes.
- ``service``    the gRPC ``TtpKeyAgreementService``.
- ``schema``     the database schema and its versioned migrations (``mec5g ttp migrate``).
- ``registry``   users, enrolment codes, analyses and their devices (phases 1 and 2).
- ``registration_service``  the gRPC ``RegistrationService`` and ``MonitoringService``.
- ``server``     process start-up for ``mec5g ttp serve``.
"""
