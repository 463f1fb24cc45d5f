"""``mec5g bench tls``: what a user would pick instead, measured: a mutually authenticated TLS 1.3
handshake between a device and a MEC (ECDHE on P-256, ECDSA P-256 certificates from one CA), run
with Python's ``ssl`` module over memory BIOs, against the scheme's own device-MEC exchange.

Both ends run in this process, one after the other, so each side's CPU time is measured alone.
Bytes are counted as they cross between the two memory BIOs: the whole handshake on the wire, TLS
records included. Session tickets are off (the scheme has no resumption either).
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mec5g.bench.schemes import Braeken2021, Handshake, Message
from mec5g.core.messages import M1_BYTES, M4_BYTES

SERVER_NAME = "mec.testbed.invalid"
# TLS 1.3 key_share entry for secp256r1: group 23, 65-byte uncompressed point.
_P256_KEY_SHARE = b"\x00\x17\x00\x41\x04"


@dataclass(frozen=True)
class ComparatorResult:
    handshakes: int
    tls_client_to_server_bytes: float
    tls_server_to_client_bytes: float
    tls_client_cpu_us: float
    tls_server_cpu_us: float
    scheme_device_mec_bytes: int
    scheme_device_cpu_us: float
    scheme_mec_cpu_us: float

    @property
    def tls_bytes(self) -> float:
        return self.tls_client_to_server_bytes + self.tls_server_to_client_bytes


def _certificate(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _contexts(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Client (device) and server (MEC) contexts: TLS 1.3 only, P-256, both sides verified."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mec5g comparator CA")])
    ca = _certificate("mec5g comparator CA", ca_key, ca_name, ca_key, ca=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    contexts = []
    for name, purpose in (
        (SERVER_NAME, ssl.PROTOCOL_TLS_SERVER),
        ("device", ssl.PROTOCOL_TLS_CLIENT),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _certificate(name, key, ca_name, ca_key, ca=False)
        (directory / f"{name}.pem").write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(purpose)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.maximum_version = ssl.TLSVersion.TLSv1_3
        context.set_ecdh_curve("prime256v1")
        context.options |= ssl.OP_NO_TICKET
        context.load_cert_chain(directory / f"{name}.pem")
        context.load_verify_locations(directory / "ca.pem")
        context.verify_mode = ssl.CERT_REQUIRED
        contexts.append(context)
    server, client = contexts
    return client, server


@dataclass(frozen=True)
class _TlsRun:
    """One TLS handshake: each flight's sender and bytes, each side's CPU, the ClientHello."""

    flights: list[tuple[str, int]]
    client_cpu: float
    server_cpu: float
    client_hello: bytes

    def sent_by(self, side: str) -> int:
        return sum(size for sender, size in self.flights if sender == side)


def _tls_handshake(client_context: ssl.SSLContext, server_context: ssl.SSLContext) -> _TlsRun:
    """One handshake, checked: the device offered P-256 and the MEC verified its certificate."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_out, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(to_client, client_out, server_hostname=SERVER_NAME)
    server = server_context.wrap_bio(to_server, server_out, server_side=True)
    flights: list[tuple[str, int]] = []
    cpu = {"client": 0.0, "server": 0.0}
    client_hello = b""
    done = {"client": False, "server": False}
    while not (done["client"] and done["server"]):
        for side, end, outgoing, incoming in (
            ("client", client, client_out, to_server),
            ("server", server, server_out, to_client),
        ):
            if not done[side]:
                started = time.process_time()
                try:
                    end.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
                cpu[side] += time.process_time() - started
            data = outgoing.read()
            if data:
                if side == "client" and not client_hello:
                    client_hello = data
                flights.append((side, len(data)))
                incoming.write(data)
    if server.getpeercert() is None:
        raise AssertionError("the server did not verify the device's certificate")
    if _P256_KEY_SHARE not in client_hello:
        raise AssertionError("the ClientHello does not offer an ECDHE P-256 key share")
    return _TlsRun(flights, cpu["client"], cpu["server"], client_hello)


class Tls13:
    """Mutual TLS 1.3 between a device (client) and a MEC (server), as a ``bench.schemes`` scheme.

    It has no third party: the TTP column stays empty.
    """

    name = "tls13"
    title = "TLS 1.3, mutual authentication (ECDHE P-256, ECDSA P-256)"
    entities: tuple[str, ...] = ("device", "mec")

    def __init__(self) -> None:
        with tempfile.TemporaryDirectory(prefix="mec5g-tls-") as directory:
            self._client, self._server = _contexts(Path(directory))

    def run(self) -> _TlsRun:
        return _tls_handshake(self._client, self._server)

    def handshake(self) -> Handshake:
        one = self.run()
        return Handshake({"device": one.client_cpu, "mec": one.server_cpu})

    def messages(self) -> list[Message]:
        """Each flight of one handshake, TLS records included."""
        paths = {"client": "device -> MEC", "server": "MEC -> device"}
        return [
            Message(f"flight {number}", paths[sender], 8 * size)
            for number, (sender, size) in enumerate(self.run().flights, start=1)
        ]


def _scheme_costs(handshakes: int) -> tuple[float, float]:
    """CPU seconds per handshake of the scheme's device and MEC computations (core only)."""
    scheme = Braeken2021()
    device_cpu = mec_cpu = 0.0
    for _ in range(handshakes):
        seconds = scheme.handshake().seconds
        device_cpu += seconds["device"]
        mec_cpu += seconds["mec"]
    return device_cpu / handshakes, mec_cpu / handshakes


def run(handshakes: int) -> ComparatorResult:
    if handshakes < 1:
        raise ValueError("--handshakes must be at least 1")
    tls = Tls13()
    totals = [0.0, 0.0, 0.0, 0.0]
    for _ in range(handshakes):
        one = tls.run()
        figures = (one.sent_by("client"), one.sent_by("server"), one.client_cpu, one.server_cpu)
        totals = [total + figure for total, figure in zip(totals, figures, strict=True)]
    device_cpu, mec_cpu = _scheme_costs(handshakes)
    return ComparatorResult(
        handshakes=handshakes,
        tls_client_to_server_bytes=totals[0] / handshakes,
        tls_server_to_client_bytes=totals[1] / handshakes,
        tls_client_cpu_us=1e6 * totals[2] / handshakes,
        tls_server_cpu_us=1e6 * totals[3] / handshakes,
        scheme_device_mec_bytes=M1_BYTES + M4_BYTES,
        scheme_device_cpu_us=1e6 * device_cpu,
        scheme_mec_cpu_us=1e6 * mec_cpu,
    )
