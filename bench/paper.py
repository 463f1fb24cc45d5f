"""The paper's published evaluation figures (Braeken & Liyanage 2021, section 7) and Table 1's
notation, shared by the benchmarks and ``mec5g report``.

Typed in as the paper prints them, not derived from our code, so that a test comparing the two can
fail. [36] is the paper's public-key baseline (Patonico et al.); its column is what the paper
reports. What this project measures of [36] is its reconstruction, the scheme ``baseline36``.
"""

from __future__ import annotations

from collections.abc import Mapping

from mec5g.runtime.compute_profile import UNITS as UNITS  # Table 1's order

BASELINE = "[36]"
THIS = "braeken2021"
BASELINE_SCHEME = (
    "baseline36"  # the registered scheme that reconstructs [36] (core.anonymous_agreement)
)

# Table 1: operations per entity and handshake (Tm point multiplication, Ta point addition,
# Ts symmetric encryption, Th hash).
TABLE_1: dict[str, dict[str, dict[str, int]]] = {
    BASELINE: {
        "device": {"Tm": 7, "Ta": 2, "Ts": 2, "Th": 12},
        "mec": {"Tm": 7, "Ta": 2, "Ts": 2, "Th": 13},
        "ttp": {"Tm": 9, "Ta": 4, "Ts": 4, "Th": 13},
    },
    THIS: {"device": {"Th": 2}, "mec": {"Th": 2}, "ttp": {"Th": 3}},
}

# Table 2: bits per message.
TABLE_2: dict[str, dict[str, int]] = {
    BASELINE: {"M1": 1152, "M2": 1792, "M3": 1024, "M4": 1280},
    THIS: {"M1": 512, "M2": 1024, "M3": 512, "M4": 384},
}
TABLE_2_TOTALS = {BASELINE: 5248, THIS: 2432}

# Figure 4: the hardware each entity is assumed to run on (section 7.1).
FIGURE_4_HARDWARE = {
    "device": "Zolertia RE-mote",
    "mec": "Raspberry PI3B+",
    "ttp": "PC Intel Core i7-8750HCPU",
}


def notation(counts: Mapping[str, float]) -> str:
    """Counts per unit in Table 1's notation, e.g. ``2Th + 1Ts``; ``0`` when none."""
    terms = [f"{number(counts[unit])}{unit}" for unit in UNITS if counts.get(unit)]
    return " + ".join(terms) or "0"


def number(value: float) -> str:
    """Whole numbers as such; fractions (a memoised operation, a retried nonce) visibly so."""
    if abs(value - round(value)) < 0.0005:
        return str(round(value))
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"
