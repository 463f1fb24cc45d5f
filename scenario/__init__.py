"""Scenario files: an emulated 5G MEC topology that ``mec5g up SCENARIO.yaml`` runs (schema,
loader, runner, events, and the kernel's network emulation where it is available)."""
