"""Statistical tests of the identities a curious MEC collects: do they look random?

Two tests from NIST SP 800-22 rev. 1a's family, small enough to carry here: the frequency
(monobit) test of section 2.1 over every bit, and a chi-square test of byte frequencies (256
bins). Each returns a p-value; identities from a good generator give p-values spread uniformly in
(0, 1), so a p-value below 0.001 is strong evidence of structure.
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
