"""The built-in adversary: a Dolev-Yao attacker on the testbed's open links and its catalogue.

- ``link``        an attacked link: a man-in-the-middle gRPC hop (drop, withhold, delay,
                  modify, replay, inject), every message into the transcript.
- ``transcript``  JSON Lines record of everything that crossed, for offline analysis.
- ``codec``       reading and rewriting the key-agreement fields in the links' protobuf bytes.
- ``testbed``     TTP, MEC and UE with the radio link and the backhaul attacked.
- ``catalogue``   the named scenarios and what must happen under each record rule.
- ``randomness``  the statistical tests a curious MEC runs on the identities it saw.
- ``cli``         ``mec5g attack``.
"""
