"""Mutual TLS between the MEC and the TTP (DESIGN.md decision 8; ``TlsOptions`` of grpc_server).

A fixture makes a CA, a server certificate for localhost / 127.0.0.1 and client certificates with
``cryptography``. The TTP requires client certificates signed by the CA; a MEC whose TTP channel
presents one completes whole handshakes, while a client without a certificate, with a certificate
from another CA, or in plaintext is turned away at the transport (UNAVAILABLE) and changes no
record.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_stack import (
    enrol,
    holder_inconsistencies,
    records_by_label,
    start_mec,
    start_ttp,
    start_ue,
)

from mec5g.core.primitives import random_bytes
from mec5g.runtime.grpc_server import TlsOptions, channel
from mec5g.runtime.status import wire_version
from mec5g.ue.fleet import Outcome, RetryPolicy
from mec5g.v1 import ttp_key_agreement_pb2, ttp_key_agreement_pb2_grpc


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path
    rogue_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


class _Authority:
    def __init__(self, common_name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.name = _name(common_name)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self, common_name: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = _Authority("mec5g test CA")
    server, server_key = ca.issue(
        "ttp",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))],
    )
    client, client_key = ca.issue("mec-test", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    rogue_ca = _Authority("someone else's CA")
    rogue, rogue_key = rogue_ca.issue("mec-rogue", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return Pki(
        ca=_write_cert(directory / "ca.pem", ca.cert),
        server_cert=_write_cert(directory / "server.pem", server),
        server_key=_write_key(directory / "server.key", server_key),
        client_cert=_write_cert(directory / "client.pem", client),
        client_key=_write_key(directory / "client.key", client_key),
        rogue_cert=_write_cert(directory / "rogue.pem", rogue),
        rogue_key=_write_key(directory / "rogue.key", rogue_key),
    )


async def test_mutual_tls_between_mec_and_ttp(tmp_path: Path, pki: Pki) -> None:
    enrolled = enrol(tmp_path, 4, 2)
    server_tls = TlsOptions(cert=pki.server_cert, key=pki.server_key, ca=pki.ca)
    client_tls = TlsOptions(cert=pki.client_cert, key=pki.client_key, ca=pki.ca)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db, tls=server_tls)
        mec = await start_mec(
            stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target, ttp_tls=client_tls
        )
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            mec.target,
            policy=RetryPolicy(max_attempts=1),
        )
        for name in ue.fleet.names:
            report = await ue.fleet.attach(name)
            assert report.outcome is Outcome.SUCCESS, name
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, ue.store, mec.store) == []
        records = records_by_label(ttp.store)
        assert all(records[name].pending is not None for name in ue.fleet.names)


@pytest.mark.parametrize("client", ["no certificate", "another CA's certificate", "plaintext"])
async def test_ttp_turns_away_clients_without_a_trusted_certificate(
    tmp_path: Path, pki: Pki, client: str
) -> None:
    enrolled = enrol(tmp_path, 1, 1)
    server_tls = TlsOptions(cert=pki.server_cert, key=pki.server_key, ca=pki.ca)
    client_tls = {
        "no certificate": TlsOptions(ca=pki.ca),
        "another CA's certificate": TlsOptions(cert=pki.rogue_cert, key=pki.rogue_key, ca=pki.ca),
        "plaintext": None,
    }[client]
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db, tls=server_tls)
        before = ttp.store.records()
        ttp_channel = channel(ttp.target, client_tls)
        stack.push_async_callback(ttp_channel.close)
        stub = ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Verify(
                ttp_key_agreement_pb2.VerifyRequest(version=wire_version(1), m2=random_bytes(128)),
                timeout=10,
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert ttp.store.records() == before


@pytest.mark.parametrize(
    "fields",
    [{"cert": Path("server.pem")}, {"key": Path("server.key")}, {"server_name": "localhost"}],
)
def test_incomplete_tls_options_are_refused(fields: dict[str, Any]) -> None:
    """A key without its certificate must not fall back to plaintext silently."""
    with pytest.raises(ValueError, match="TLS"):
        TlsOptions(**fields)
