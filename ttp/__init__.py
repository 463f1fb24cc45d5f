"""The TTP (cloud): the key store of every device and MEC credential, operator enrolment, and the
key-agreement service that verifies M2 and answers with M3 and the analysis handle.

- ``keystore``   the durable record store (SQLite, WAL, group commit) around ``core.ttp_role``.
- ``enrolment``  operator commands creating credentials and handing them to UE and MEC processes.
- ``service``    the gRPC ``TtpKeyAgreementService``.
- ``server``     process start-up for ``mec5g ttp serve``.
"""
