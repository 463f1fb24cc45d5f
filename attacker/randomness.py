"""The statistics the attacker runs on what it observed.

Do identities look random? Two tests from NIST SP 800-22 rev. 1a's family, small enough to carry
here: the frequency (monobit) test of section 2.1 over every bit, and a chi-square test of byte
frequencies (256 bins). Do two kinds of refusal take the same time? The two-sample
Kolmogorov-Smirnov test. Each returns a p-value; under the hypothesis of no structure p-values
spread uniformly in (0, 1), so a tiny one is strong evidence against it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable


def monobit_p(values: Iterable[bytes]) -> float:
    """SP 800-22 section 2.1: p = erfc(|#1 - #0| / sqrt(2n)) over all n bits."""
    ones = bits = 0
    for value in values:
        ones += sum(byte.bit_count() for byte in value)
        bits += 8 * len(value)
    if bits == 0:
        raise ValueError("no bits to test")
    return math.erfc(abs(2 * ones - bits) / math.sqrt(bits) / math.sqrt(2))


def byte_chi_square_p(values: Iterable[bytes]) -> float:
    """Chi-square test of the 256 byte values' frequencies (255 degrees of freedom), with the
    Wilson-Hilferty normal approximation of the chi-square tail (ample for 255 dof)."""
    counts = Counter(byte for value in values for byte in value)
    total = sum(counts.values())
    if total < 5 * 256:
        raise ValueError("too few bytes for a chi-square test over 256 values")
    expected = total / 256
    statistic = sum((counts.get(byte, 0) - expected) ** 2 / expected for byte in range(256))
    dof = 255
    z = ((statistic / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    return 0.5 * math.erfc(z / math.sqrt(2))


def ks_two_sample_p(first: list[float], second: list[float]) -> float:
    """Two-sample Kolmogorov-Smirnov test: the p-value that both samples come from one
    distribution (asymptotic Kolmogorov distribution, with Stephens' small-sample correction)."""
    if not first or not second:
        raise ValueError("two non-empty samples are needed")
    a, b = sorted(first), sorted(second)
    i = j = 0
    distance = 0.0
    while i < len(a) and j < len(b):
        value = min(a[i], b[j])
        while i < len(a) and a[i] <= value:
            i += 1
        while j < len(b) and b[j] <= value:
            j += 1
        distance = max(distance, abs(i / len(a) - j / len(b)))
    effective = math.sqrt(len(a) * len(b) / (len(a) + len(b)))
    statistic = (effective + 0.12 + 0.11 / effective) * distance
    if statistic < 0.2:
        return 1.0
    # Q_KS(t) = 2 * sum_{k>=1} (-1)^(k-1) exp(-2 k^2 t^2)
    tail: float = sum(
        2.0 * (-1) ** (k - 1) * math.exp(-2 * k * k * statistic * statistic) for k in range(1, 101)
    )
    return float(min(1.0, max(0.0, tail)))
