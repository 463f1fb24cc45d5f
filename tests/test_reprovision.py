"""Re-provisioning (DESIGN.md decision 3; SPEC.md "TTP record"): restoring an old copy of the key
store locks out every credential rotated since; the operator re-provisions the affected records at
the TTP (fresh credential, counter 0, no pending) and each holder replaces its state once, after
which handshakes succeed again.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

from grpc_stack import enrol, start_mec, start_ttp, start_ue

from mec5g.testbed import check_agreement
from mec5g.ue.fleet import Outcome, RetryPolicy


def _mec5g(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mec5g", "--log-level", "WARNING", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def _attach_all(tmp_path: Path, ttp_db: Path, devices: list[str]) -> list[Outcome]:
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", None, ttp.target)
        ue = await start_ue(
            stack, tmp_path / "ue.db", None, mec.target, policy=RetryPolicy(max_attempts=1)
        )
        outcomes = [(await ue.fleet.attach(name)).outcome for name in devices]
        await mec.pool.drain()
        return outcomes


async def test_restored_key_store_locks_out_and_reprovisioning_heals(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, devices=2, mec_credentials=1)
    devices = sorted(enrolled.devices.credentials)
    mec_credentials = sorted(enrolled.mec.credentials)
    # First start imports the enrolment files; the backup is taken before any handshake.
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        await start_ue(stack, tmp_path / "ue.db", enrolled.ue_file, "127.0.0.1:1")
    shutil.copy(enrolled.ttp_db, tmp_path / "backup.db")
    assert await _attach_all(tmp_path, enrolled.ttp_db, devices * 2) == [Outcome.SUCCESS] * 4

    shutil.copy(tmp_path / "backup.db", enrolled.ttp_db)  # the restore that rotations outlived
    for suffix in ("-wal", "-shm"):
        Path(str(enrolled.ttp_db) + suffix).unlink(missing_ok=True)
    assert len(check_agreement(tmp_path)) == len(devices) + len(mec_credentials)
    assert await _attach_all(tmp_path, enrolled.ttp_db, devices[:1]) == [Outcome.REFUSED]

    labels_d = [arg for name in devices for arg in ("--label", name)]
    labels_m = [arg for name in mec_credentials for arg in ("--label", name)]
    store = str(enrolled.ttp_db)
    for kind, labels, out in (("device", labels_d, "re-ue.json"), ("mec", labels_m, "re-mec.json")):
        issued = _mec5g("ttp", "reprovision", "--store", store, "--kind", kind, *labels,
                        "--out", str(tmp_path / out))  # fmt: skip
        assert issued.returncode == 0, issued.stderr
    for role, state, out in (("ue", "ue.db", "re-ue.json"), ("mec", "mec.db", "re-mec.json")):
        replaced = _mec5g(role, "reprovision", "--state", str(tmp_path / state), "--from",
                          str(tmp_path / out))  # fmt: skip
        assert replaced.returncode == 0, replaced.stderr
    assert check_agreement(tmp_path) == []
    assert await _attach_all(tmp_path, enrolled.ttp_db, devices) == [Outcome.SUCCESS] * 2


def test_reprovisioning_an_unknown_record_is_refused(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, devices=1, mec_credentials=1)
    refused = _mec5g("ttp", "reprovision", "--store", str(enrolled.ttp_db), "--kind", "device",
                     "--label", "dev-9999", "--out", str(tmp_path / "x.json"))  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.startswith("enrolment refused:")
    assert not (tmp_path / "x.json").exists()
