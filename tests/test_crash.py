"""Killed processes restart consistent (SPEC.md "Attempts", "Adopting", "MEC credentials";
DESIGN.md decision 3): ``mec5g crash`` kills the TTP, the MEC and the UE with SIGKILL at random
moments under continuous load, twice each here (20 each from the command), restarting each on its
state. Afterwards every device and every MEC credential still holds a credential its TTP record
holds, and every device completes a key agreement within two attempts.
"""

from __future__ import annotations

from pathlib import Path

from mec5g.attacker import crash


async def test_sigkill_at_random_moments_never_locks_anyone_out(tmp_path: Path) -> None:
    report = await crash.run(tmp_path, kills=2, seed=5, devices=8, mec_credentials=3)
    logs = {path.name: path.read_text()[-1500:] for path in tmp_path.glob("*.log")}
    assert report.kills == {"ttp": 2, "mec": 2, "ue": 2}
    assert report.attaches_between_kills > 0, "the storm ran"
    assert report.lockouts == [], logs
    assert report.devices_not_back_in_two == [], logs
    assert "verdict: consistent" in report.render()
