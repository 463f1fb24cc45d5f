"""The TTP as registration centre (phase 1) and keeper of analyses (phase 2), on either backend.

Paper sections 5.1 and 5.2: the TTP stores per user (ID, Cert, Q, registration time, role and
attributes) and per analysis (IDa, Ta) of a patient the devices' (DIDi, DKi, Ti). Device records
live in the key store's ``credential_records`` (kind ``device``, label ``patient/device``, owner
IDa), so that key agreement finds them as it finds every other record. It also issues the
grants of phase 5 and finds the watchers of phase 6.

Every operation is one serialised write transaction of the store's ``Database`` (SQLite's
``BEGIN IMMEDIATE``; on PostgreSQL, shared by several TTP replicas, one advisory lock), so it
writes all of its rows or none, and replicas run them as if one after the other. Refusals are
``Refused`` with a ``Refusal`` kind that the gRPC layer maps to a status; an authentication
refusal carries its reason for the TTP's log only.

Enrolment codes are 144-bit random strings, stored as SHA-256 hashes (the database never holds a
usable code), bound to one identity and role, single use and expiring. They are looked up by
hash, so the lookup time says nothing about the code, and the bound identity and role are
compared in constant time.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from mec5g.core import ecqv, user_crypto
from mec5g.core.anonymous_agreement import Purpose
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.errors import AuthenticationFailed, InvalidField
from mec5g.core.handle import AnalysisSettings, Pseudonyms
from mec5g.core.operations import Operation, Origin, record
from mec5g.core.profiles import (
    AccessPolicy,
    Doctor,
    DoctorAttributes,
    PatientAttributes,
    Role,
    check_name,
    may_read,
)
from mec5g.core.records import RecordKind
from mec5g.core.user_access import WATCH_ID_BYTES
from mec5g.ttp import schema
from mec5g.ttp.at_rest import MasterKey, Sealer, adopt, read_secret
from mec5g.ttp.database import Connection
from mec5g.ttp.keystore import EnrolmentRefused, RowCodec, delete_record, insert_record
from mec5g.ttp.stores import StoreLocation, open_database

REQUEST_WINDOW_SECONDS = 300.0
WATCH_RETENTION = 86400.0  # a watch open longer than a day must be opened again to be found
# MEC nodes' emergency nonces share the user requests' table; ':' is in no user identity.
MEC_NONCE_PREFIX = "mec:"
CODE_BYTES = 18
_DUMMY_PUBLIC = ecqv.public_key(1)


class Refusal(enum.Enum):
    """Why an operation was refused, as the gRPC layer reports it."""

    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    FAILED_PRECONDITION = "failed_precondition"


class Refused(Exception):
    """An operation refused; nothing was written. For UNAUTHENTICATED, ``detail`` is the reason
    for the TTP's log only and the requester is told nothing more than that it failed."""

    def __init__(self, kind: Refusal, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _unauthenticated(reason: str) -> Refused:
    return Refused(Refusal.UNAUTHENTICATED, reason)


@dataclass(frozen=True)
class User:
    user_id: str
    role: Role
    certificate: bytes
    public_key: bytes
    registered_at: float
    doctor: DoctorAttributes | None


@dataclass(frozen=True)
class Registered:
    certificate: bytes
    r: int
    registered_at: float


@dataclass(frozen=True)
class SignedRequest:
    """An authenticated user request: who signed, and its freshness fields from the body."""

    user: User
    nonce: bytes
    issued_at: float


@dataclass(frozen=True)
class Involved:
    """A watcher involved in an emergency: its watch, the watch's ephemeral X, the watcher's own
    key, and whose analysis."""

    watch_id: bytes
    requester_key: bytes
    watcher_key: bytes
    analysis_id: str
    patient_id: str
    patient: PatientAttributes


@dataclass(frozen=True)
class DeviceRequest:
    name: str
    access: AccessPolicy | None


@dataclass(frozen=True)
class IssuedDevice:
    name: str
    credential: Credential
    installed_at: float
    rule: RecordRule


@dataclass(frozen=True)
class DeviceSummary:
    name: str
    installed_at: float
    revoked: bool
    access: AccessPolicy | None


@dataclass(frozen=True)
class AnalysisSummary:
    analysis_id: str
    patient_id: str
    created_at: float
    closed_at: float | None
    access: AccessPolicy
    devices: tuple[DeviceSummary, ...]


def device_label(patient_id: str, device: str) -> str:
    """The key-store label of a patient's device: also its name on the patient's UE."""
    return f"{patient_id}/{device}"


def hash_code(code: str) -> bytes:
    record(Operation.HASH, Origin.OURS)
    return hashlib.sha256(code.encode()).digest()


def _policy_json(policy: AccessPolicy | None) -> str | None:
    return None if policy is None else json.dumps(policy.as_dict(), sort_keys=True)


def _policy(text: str | None) -> AccessPolicy | None:
    return None if text is None else AccessPolicy.from_dict(json.loads(text))


class Registry:
    """Users, enrolment codes and analyses in the TTP's database (migrated on open): a SQLite
    file or a PostgreSQL URL. ``close`` it (or use it as a context manager): a PostgreSQL
    registry holds a connection pool."""

    def __init__(
        self,
        location: StoreLocation,
        clock: Callable[[], float] = time.time,
        device_rule: RecordRule = RecordRule.COUNTER,
        master_key: MasterKey | None = None,
    ) -> None:
        """Open (and migrate) the database; ``clock`` lets tests move time (code expiry);
        ``device_rule`` is the record rule of the device records it creates (the paper's rule
        only to demonstrate its attack); ``master_key`` seals their DKs, as the key store does."""
        self.location = location
        self.device_rule = device_rule
        self._codec = RowCodec(Sealer(master_key))
        self._now = clock
        self.database = open_database(location)
        try:
            with self.database.transaction() as connection:
                adopt(connection.execute, "?", self._codec.sealer)
                secret = self._ca_key(connection)
                pseudonym_key = read_secret(
                    connection.execute, "?", self._codec.sealer, schema.PSEUDONYM_SECRET
                )
        except BaseException:
            self.database.close()
            raise
        if pseudonym_key is None:
            self.database.close()
            raise RuntimeError("the TTP's store has no pseudonym key")
        self._ca_private = int.from_bytes(secret, "big")
        self.ca_public = ecqv.public_key(self._ca_private)
        self._pseudonyms = Pseudonyms(pseudonym_key)

    @property
    def authority(self) -> ecqv.KeyPair:
        """The CA's key pair: it issues certificates and opens what the parties of an anonymous
        key agreement seal to the TTP (phases 5 and 6, the baseline [36])."""
        return ecqv.KeyPair(self._ca_private, self.ca_public)

    def pseudonym(self, analysis_id: str, node: str) -> bytes:
        """The name under which MEC node ``node`` knows analysis ``analysis_id``."""
        return self._pseudonyms(analysis_id, node)

    def node_key(self, node: str) -> bytes | None:
        """The public key of MEC node ``node``'s ECQV identity, or None without one."""
        with self.database.reading() as connection:
            row = connection.execute(
                "SELECT public_key FROM mec_nodes WHERE node = ?", (node,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def _ca_key(self, connection: Connection) -> bytes:
        """The CA's private key; the first registry to open a store without one (a PostgreSQL
        store: SQLite's migration makes it) makes it, sealed as the store seals its secrets."""
        sealer = self._codec.sealer
        secret = read_secret(connection.execute, "?", sealer, schema.CA_SECRET)
        if secret is None:
            secret = ecqv.scalar_bytes(ecqv.random_scalar())
            connection.execute(
                "INSERT INTO ttp_secrets VALUES (?, ?)",
                (schema.CA_SECRET, sealer.seal_secret(schema.CA_SECRET, secret)),
            )
        return secret

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- operator -----------------------------------------------------------------------------

    def issue_enrolment_code(self, user_id: str, role: Role, ttl_seconds: float) -> str:
        """A one-time code for registering ``user_id`` as ``role``, valid ``ttl_seconds``."""
        check_name(user_id, "user_id")
        if ttl_seconds <= 0:
            raise InvalidField("ttl", "a positive number of seconds")
        code = secrets.token_urlsafe(CODE_BYTES)
        now = self._now()
        with self.database.transaction() as connection:
            if self._user(connection, user_id) is not None:
                raise Refused(Refusal.ALREADY_EXISTS, f"user {user_id!r} is registered already")
            connection.execute(
                "INSERT INTO enrolment_codes (code_hash, user_id, role, issued_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (hash_code(code), user_id, role.label, now, now + ttl_seconds),
            )
        return code

    def mec_identity(
        self, node: str, request_point: bytes
    ) -> tuple[ecqv.Issued, Callable[[Connection], None]]:
        """Issue MEC node ``node`` its ECQV certificate (phases 5 and 6 authenticate MECs with
        it) from its R; the step returned stores it, inside the enrolment's own transaction."""
        check_name(node, "node")
        issued = ecqv.issue(self._ca_private, node, request_point)
        public = ecqv.reconstruct_public(issued.certificate, self.ca_public)

        def store(connection: Connection) -> None:
            if connection.execute("SELECT 1 FROM mec_nodes WHERE node = ?", (node,)).fetchone():
                raise EnrolmentRefused(f"MEC node {node!r} has an identity already")
            connection.execute(
                "INSERT INTO mec_nodes (node, certificate, public_key, registered_at) "
                "VALUES (?, ?, ?, ?)",
                (node, issued.certificate.encoded, public, self._now()),
            )

        return issued, store

    def has_mec_node(self, node: str) -> bool:
        """Has MEC node ``node`` an ECQV identity?"""
        with self.database.reading() as connection:
            found = connection.execute("SELECT 1 FROM mec_nodes WHERE node = ?", (node,))
            return found.fetchone() is not None

    # -- phase 1: registration ----------------------------------------------------------------

    def register(
        self,
        code: str,
        user_id: str,
        role: Role,
        request_point: bytes,
        attributes: PatientAttributes | DoctorAttributes,
    ) -> Registered:
        """Redeem ``code`` and issue an ECQV certificate for R = ``request_point``."""
        check_name(user_id, "user_id")
        ecqv.decode_point(request_point, "request_point")
        expected = PatientAttributes if role is Role.PATIENT else DoctorAttributes
        if not isinstance(attributes, expected):
            raise InvalidField("attributes", f"the attributes of a {role.label}")
        code_hash = hash_code(code)
        now = self._now()
        with self.database.transaction() as connection:
            row = connection.execute(
                "SELECT code_hash, user_id, role, expires_at, used_at FROM enrolment_codes "
                "WHERE code_hash = ?",
                (code_hash,),
            ).fetchone()
            if row is None or not hmac.compare_digest(row[0], code_hash):
                raise _unauthenticated("unknown_enrolment_code")
            bound = hmac.compare_digest(
                f"{row[1]}\x00{row[2]}".encode(), f"{user_id}\x00{role.label}".encode()
            )
            if not bound:
                raise _unauthenticated("enrolment_code_for_another_user")
            if row[4] is not None:
                raise _unauthenticated("used_enrolment_code")
            if row[3] <= now:
                raise _unauthenticated("expired_enrolment_code")
            if self._user(connection, user_id) is not None:
                raise Refused(Refusal.ALREADY_EXISTS, f"user {user_id!r} is registered already")
            issued = ecqv.issue(self._ca_private, user_id, request_point)
            public = ecqv.reconstruct_public(issued.certificate, self.ca_public)
            connection.execute(
                "INSERT INTO users (user_id, role, certificate, public_key, registered_at, "
                "attributes) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    role.label,
                    issued.certificate.encoded,
                    public,
                    now,
                    json.dumps(attributes.as_dict(), sort_keys=True),
                ),
            )
            connection.execute(
                "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ?", (now, code_hash)
            )
        return Registered(issued.certificate.encoded, issued.r, now)

    def certificates(self) -> dict[str, Any]:
        """Every user's and MEC node's certificate and stored Q, as a ``mec5g ecqv verify``
        file: anyone can check that each Q is the one its certificate and Q_TTP give."""
        with self.database.reading() as connection:
            rows = connection.execute(
                "SELECT user_id, certificate, public_key FROM users UNION ALL "
                "SELECT node, certificate, public_key FROM mec_nodes ORDER BY 1"
            ).fetchall()
        return {
            "ca_public": self.ca_public.hex(),
            "certs": [
                {"identity": identity, "cert": cert.hex(), "public": public.hex()}
                for identity, cert, public in rows
            ],
        }

    def user(self, user_id: str) -> User | None:
        with self.database.reading() as connection:
            return self._user(connection, user_id)

    @staticmethod
    def _user(connection: Connection, user_id: str) -> User | None:
        row = connection.execute(
            "SELECT user_id, role, certificate, public_key, registered_at, attributes "
            "FROM users WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        if row is None:
            return None
        role = Role[row[1].upper()]
        doctor = None
        if role is Role.DOCTOR:
            attributes = json.loads(row[5])
            doctor = DoctorAttributes(attributes["expertise"], attributes["hospital"])
        return User(row[0], role, row[2], row[3], row[4], doctor)

    # -- signed user requests -------------------------------------------------------------------

    def authenticate(
        self,
        method: str,
        user_id: str,
        body: bytes,
        signature: bytes,
        nonce: bytes,
        issued_at: float,
    ) -> SignedRequest:
        """Check the signature and the time of a user request; the nonce is consumed later, in
        the operation's own transaction. An unknown user costs one verification too."""
        user = self.user(user_id)
        try:
            user_crypto.verify(
                user.public_key if user else _DUMMY_PUBLIC, method, user_id, body, signature
            )
        except AuthenticationFailed as failure:
            raise _unauthenticated(failure.reason) from None
        if user is None:
            raise _unauthenticated("unknown_user")
        if abs(self._now() - issued_at) > REQUEST_WINDOW_SECONDS:
            raise _unauthenticated("stale_request")
        return SignedRequest(user, nonce, issued_at)

    def fresh_request(
        self, user_id: str, public_key: bytes, nonce: bytes, issued_at: float
    ) -> SignedRequest:
        """A user request whose signature the caller verified already (inside an anonymous key
        agreement, under ``public_key`` from the user's certificate): the user must be
        registered with that key and the time fresh; the nonce is consumed later, in the
        operation's own transaction."""
        user = self.user(user_id)
        registered = user.public_key if user is not None else _DUMMY_PUBLIC
        if not hmac.compare_digest(registered, public_key) or user is None:
            raise _unauthenticated("unknown_user")
        if abs(self._now() - issued_at) > REQUEST_WINDOW_SECONDS:
            raise _unauthenticated("stale_request")
        return SignedRequest(user, nonce, issued_at)

    def _consume_nonce(self, connection: Connection, request: SignedRequest) -> None:
        self._consume(connection, request.user.user_id, request.nonce)

    def _consume(self, connection: Connection, signer: str, nonce: bytes) -> None:
        connection.execute(
            "DELETE FROM request_nonces WHERE seen_at < ?",
            (self._now() - 2 * REQUEST_WINDOW_SECONDS,),
        )
        inserted = connection.execute(
            "INSERT INTO request_nonces (user_id, nonce, seen_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (signer, nonce, self._now()),
        )
        if inserted.rowcount != 1:
            raise _unauthenticated("replayed_request")

    @contextlib.contextmanager
    def _begin(self, request: SignedRequest, *, patient: bool) -> Iterator[Connection]:
        """The operation's transaction, with the role checked and the nonce consumed first."""
        if patient and request.user.role is not Role.PATIENT:
            raise Refused(Refusal.PERMISSION_DENIED, "only a patient may do this")
        with self.database.transaction() as connection:
            self._consume(connection, request.user.user_id, request.nonce)
            yield connection

    # -- phase 2: analyses ----------------------------------------------------------------------

    def create_analysis(
        self, request: SignedRequest, devices: Sequence[DeviceRequest], access: AccessPolicy
    ) -> tuple[str, float, list[IssuedDevice]]:
        """A new analysis (IDa, Ta) of the requesting patient with fresh device credentials."""
        analysis_id = "a-" + secrets.token_hex(8)
        now = self._now()
        _check_devices([device.name for device in devices])
        with self._begin(request, patient=True) as connection:
            connection.execute(
                "INSERT INTO analyses (analysis_id, patient_id, created_at, access) "
                "VALUES (?, ?, ?, ?)",
                (analysis_id, request.user.user_id, now, _policy_json(access)),
            )
            issued = self._add(connection, request.user.user_id, analysis_id, devices, now)
        return analysis_id, now, issued

    def add_devices(
        self, request: SignedRequest, analysis_id: str, devices: Sequence[DeviceRequest]
    ) -> list[IssuedDevice]:
        _check_devices([device.name for device in devices])
        with self._begin(request, patient=True) as connection:
            self._open_analysis(connection, request, analysis_id)
            return self._add(connection, request.user.user_id, analysis_id, devices, self._now())

    def _add(
        self,
        connection: Connection,
        patient_id: str,
        analysis_id: str,
        devices: Sequence[DeviceRequest],
        now: float,
    ) -> list[IssuedDevice]:
        issued = []
        for device in devices:
            holder = connection.execute(
                "SELECT d.analysis_id FROM analysis_devices d JOIN analyses a USING (analysis_id) "
                "WHERE d.patient_id = ? AND d.device = ? AND a.closed_at IS NULL",
                (patient_id, device.name),
            ).fetchone()
            if holder is not None and holder[0] == analysis_id:
                raise Refused(
                    Refusal.ALREADY_EXISTS, f"device {device.name!r} is in this analysis already"
                )
            if holder is not None:
                raise Refused(
                    Refusal.FAILED_PRECONDITION,
                    f"device {device.name!r} is in another open analysis; remove it there first",
                )
            connection.execute(
                "INSERT INTO analysis_devices (analysis_id, patient_id, device, installed_at, "
                "access) VALUES (?, ?, ?, ?, ?)",
                (analysis_id, patient_id, device.name, now, _policy_json(device.access)),
            )
            credential = Credential.generate()
            insert_record(
                connection,
                self._codec,
                RecordKind.DEVICE,
                device_label(patient_id, device.name),
                analysis_id,
                self.device_rule,
                credential,
            )
            issued.append(IssuedDevice(device.name, credential, now, self.device_rule))
        return issued

    def remove_devices(
        self, request: SignedRequest, analysis_id: str, devices: Sequence[str]
    ) -> int:
        """Take devices out of an analysis and forget their credentials."""
        _check_devices(devices)
        with self._begin(request, patient=True) as connection:
            self._analysis(connection, request, analysis_id)
            for name in self._existing(connection, analysis_id, devices):
                connection.execute(
                    "DELETE FROM analysis_devices WHERE analysis_id = ? AND device = ?",
                    (analysis_id, name),
                )
                delete_record(
                    connection, RecordKind.DEVICE, device_label(request.user.user_id, name)
                )
        return len(devices)

    def revoke_devices(
        self, request: SignedRequest, analysis_id: str, devices: Sequence[str]
    ) -> int:
        """Forget the devices' credentials (their next key agreement fails); they stay listed."""
        _check_devices(devices)
        now = self._now()
        with self._begin(request, patient=True) as connection:
            self._open_analysis(connection, request, analysis_id)
            for name in self._existing(connection, analysis_id, devices):
                if not delete_record(
                    connection, RecordKind.DEVICE, device_label(request.user.user_id, name)
                ):
                    raise Refused(Refusal.FAILED_PRECONDITION, f"device {name!r} is revoked")
                connection.execute(
                    "UPDATE analysis_devices SET revoked_at = ? "
                    "WHERE analysis_id = ? AND device = ?",
                    (now, analysis_id, name),
                )
        return len(devices)

    def reprovision_devices(
        self, request: SignedRequest, analysis_id: str, devices: Sequence[str]
    ) -> list[IssuedDevice]:
        """Fresh credentials for devices of an open analysis (lost or revoked); the old ones
        are forgotten in the same transaction."""
        _check_devices(devices)
        now = self._now()
        issued = []
        with self._begin(request, patient=True) as connection:
            self._open_analysis(connection, request, analysis_id)
            for name in self._existing(connection, analysis_id, devices):
                label = device_label(request.user.user_id, name)
                credential = Credential.generate()
                delete_record(connection, RecordKind.DEVICE, label)  # the old one, if not revoked
                insert_record(
                    connection,
                    self._codec,
                    RecordKind.DEVICE,
                    label,
                    analysis_id,
                    self.device_rule,
                    credential,
                )
                connection.execute(
                    "UPDATE analysis_devices SET revoked_at = NULL, installed_at = ? "
                    "WHERE analysis_id = ? AND device = ?",
                    (now, analysis_id, name),
                )
                issued.append(IssuedDevice(name, credential, now, self.device_rule))
        return issued

    def close_analysis(self, request: SignedRequest, analysis_id: str) -> float:
        """Close an analysis and forget its devices' credentials."""
        now = self._now()
        with self._begin(request, patient=True) as connection:
            self._open_analysis(connection, request, analysis_id)
            names = [
                row[0]
                for row in connection.execute(
                    "SELECT device FROM analysis_devices WHERE analysis_id = ?", (analysis_id,)
                )
            ]
            for name in names:
                delete_record(
                    connection, RecordKind.DEVICE, device_label(request.user.user_id, name)
                )
            connection.execute(
                "UPDATE analyses SET closed_at = ? WHERE analysis_id = ?", (now, analysis_id)
            )
        return now

    def list_analyses(self, request: SignedRequest) -> list[AnalysisSummary]:
        """A patient's own analyses; for a doctor, those (and the devices) it may read."""
        user = request.user
        doctor = Doctor(user.user_id, user.doctor) if user.doctor is not None else None
        with self._begin(request, patient=False) as connection:
            if user.role is Role.PATIENT:
                rows = connection.execute(
                    "SELECT analysis_id, patient_id, created_at, closed_at, access FROM analyses "
                    "WHERE patient_id = ? ORDER BY created_at, analysis_id",
                    (user.user_id,),
                ).fetchall()
            else:
                rows = connection.execute(
                    "SELECT analysis_id, patient_id, created_at, closed_at, access FROM analyses "
                    "ORDER BY created_at, analysis_id"
                ).fetchall()
            summaries = []
            for analysis_id, patient_id, created_at, closed_at, access_text in rows:
                access = AccessPolicy.from_dict(json.loads(access_text))
                devices = tuple(
                    DeviceSummary(
                        name, installed_at, revoked_at is not None, _policy(device_access)
                    )
                    for name, installed_at, revoked_at, device_access in connection.execute(
                        "SELECT device, installed_at, revoked_at, access FROM analysis_devices "
                        "WHERE analysis_id = ? ORDER BY device",
                        (analysis_id,),
                    )
                    if may_read(user.user_id, doctor, patient_id, access, _policy(device_access))
                )
                if user.role is Role.PATIENT or devices:
                    summaries.append(
                        AnalysisSummary(
                            analysis_id, patient_id, created_at, closed_at, access, devices
                        )
                    )
        return summaries

    # -- phases 5 and 6: what the TTP vouches for user requests ---------------------------------

    def authorise(
        self,
        request: SignedRequest,
        purpose: Purpose,
        analysis_id: str,
        node: str,
        requester_key: bytes,
    ) -> tuple[bytes, bytes]:
        """What the TTP vouches to MEC node ``node`` (authenticated by the caller) for the
        requester to read ``analysis_id``'s results or watch it for emergencies: the pseudonym the
        node knows the analysis under and, for a watch, the watch's id. A watch is remembered
        with the requester's ephemeral X, so that the node's emergencies find their watchers.

        An analysis that does not exist and one the user may not read are refused alike
        (PERMISSION_DENIED), so that a refusal says nothing about other patients.
        """
        if purpose not in (Purpose.RESULTS, Purpose.WATCH):
            raise InvalidField("purpose", "results or watch")
        now = self._now()
        with self._begin(request, patient=False) as connection:
            if _reader_of(connection, request.user, analysis_id) is None:
                raise Refused(Refusal.PERMISSION_DENIED, "not authorised for that analysis")
            pseudonym = self._pseudonyms(analysis_id, node)
            if purpose is not Purpose.WATCH:
                return pseudonym, b""
            watch_id = secrets.token_bytes(WATCH_ID_BYTES)
            connection.execute(
                "DELETE FROM watch_grants WHERE issued_at < ?", (now - WATCH_RETENTION,)
            )
            connection.execute(
                "INSERT INTO watch_grants (nonce, user_id, analysis_id, node, pseudonym, "
                "requester_key, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    watch_id,
                    request.user.user_id,
                    analysis_id,
                    node,
                    pseudonym,
                    requester_key,
                    now,
                ),
            )
        return pseudonym, watch_id

    def set_analysis_settings(
        self, request: SignedRequest, analysis_id: str, settings: AnalysisSettings
    ) -> None:
        """A doctor allowed to read ``analysis_id`` sets what the MEC needs to score it (paper
        4.1 step 4: the doctor chooses the analysis's parameters); the key store seals it to the
        MEC from the next key agreement on. Another user, or an analysis that does not exist,
        is refused alike (PERMISSION_DENIED)."""
        with self._begin(request, patient=False) as connection:
            if request.user.role is not Role.DOCTOR:
                raise Refused(Refusal.PERMISSION_DENIED, "only a doctor sets an analysis's scale")
            if _reader_of(connection, request.user, analysis_id) is None:
                raise Refused(Refusal.PERMISSION_DENIED, "not authorised for that analysis")
            connection.execute(
                "INSERT INTO analysis_settings VALUES (?, ?) "
                "ON CONFLICT (analysis) DO UPDATE SET spo2_scale = excluded.spo2_scale",
                (analysis_id, int(settings.spo2_scale)),
            )

    # -- phase 6: emergencies -------------------------------------------------------------------

    def raise_emergency(
        self,
        node: str,
        method: str,
        body: bytes,
        signature: bytes,
        nonce: bytes,
        raised_at: float,
        pseudonym: bytes,
        watch_ids: Sequence[bytes],
    ) -> list[Involved]:
        """Check a MEC node's signed emergency, then map its pseudonym back to the analysis
        through the node's watches: every watcher whose user may still read the analysis is
        involved. Watches of another node or pseudonym are ignored, never reported."""
        node_key = self.node_key(node)
        try:
            user_crypto.verify(node_key or _DUMMY_PUBLIC, method, node, body, signature)
        except AuthenticationFailed as failure:
            raise _unauthenticated(failure.reason) from None
        if node_key is None:
            raise _unauthenticated("unknown_node")
        if abs(self._now() - raised_at) > REQUEST_WINDOW_SECONDS:
            raise _unauthenticated("stale_request")
        involved = []
        with self.database.transaction() as connection:
            self._consume(connection, f"{MEC_NONCE_PREFIX}{node}", nonce)
            for watch_id in dict.fromkeys(watch_ids):
                found = connection.execute(
                    "SELECT user_id, analysis_id, requester_key FROM watch_grants "
                    "WHERE nonce = ? AND node = ? AND pseudonym = ?",
                    (watch_id, node, pseudonym),
                ).fetchone()
                if found is None:
                    continue
                user = self._user(connection, found[0])
                patient = _reader_of(connection, user, found[1]) if user else None
                if user is not None and patient is not None:
                    involved.append(
                        Involved(
                            watch_id,
                            found[2],
                            user.public_key,
                            found[1],
                            patient,
                            _patient(connection, patient),
                        )
                    )
        return involved

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _analysis(connection: Connection, request: SignedRequest, analysis_id: str) -> float | None:
        """The analysis's closing time (None while open); NOT_FOUND unless it is the
        requester's own (another patient's analysis is not acknowledged to exist)."""
        row = connection.execute(
            "SELECT closed_at FROM analyses WHERE analysis_id = ? AND patient_id = ?",
            (analysis_id, request.user.user_id),
        ).fetchone()
        if row is None:
            raise Refused(Refusal.NOT_FOUND, f"no analysis {analysis_id!r} of yours")
        closed_at: float | None = row[0]
        return closed_at

    def _open_analysis(
        self, connection: Connection, request: SignedRequest, analysis_id: str
    ) -> None:
        if self._analysis(connection, request, analysis_id) is not None:
            raise Refused(Refusal.FAILED_PRECONDITION, f"analysis {analysis_id!r} is closed")

    @staticmethod
    def _existing(
        connection: Connection, analysis_id: str, devices: Sequence[str]
    ) -> Iterator[str]:
        for name in devices:
            found = connection.execute(
                "SELECT 1 FROM analysis_devices WHERE analysis_id = ? AND device = ?",
                (analysis_id, name),
            ).fetchone()
            if found is None:
                raise Refused(Refusal.NOT_FOUND, f"no device {name!r} in analysis {analysis_id!r}")
            yield name


def _reader_of(connection: Connection, user: User, analysis_id: str) -> str | None:
    """The analysis's patient if ``user`` may read its results, else None (also for no such
    analysis). The NEWS2 result combines every device, so a doctor must be allowed each."""
    row = connection.execute(
        "SELECT patient_id, access FROM analyses WHERE analysis_id = ?", (analysis_id,)
    ).fetchone()
    if row is None:
        return None
    doctor = Doctor(user.user_id, user.doctor) if user.doctor is not None else None
    policy = AccessPolicy.from_dict(json.loads(row[1]))
    allowed = all(
        may_read(user.user_id, doctor, row[0], policy, _policy(device_access))
        for (device_access,) in connection.execute(
            "SELECT access FROM analysis_devices WHERE analysis_id = ?", (analysis_id,)
        )
    )
    patient: str = row[0]
    return patient if allowed else None


def _patient(connection: Connection, patient_id: str) -> PatientAttributes:
    (attributes,) = connection.execute(
        "SELECT attributes FROM users WHERE user_id = ?", (patient_id,)
    ).fetchone()
    document = json.loads(attributes)
    return PatientAttributes(tuple(document["allergies"]), document["blood_group"])


def _check_devices(names: Sequence[str]) -> None:
    if not names:
        raise InvalidField("devices", "at least one device")
    for name in names:
        check_name(name, "devices")
    repeated = sorted(name for name, times in Counter(names).items() if times > 1)
    if repeated:
        raise InvalidField("devices", f"distinct names ({', '.join(repeated)} named twice)")
