"""The UE emulator: one process holding N emulated IoT devices that attach through a MEC, and the
control service through which operators drive it with grpcurl.

- ``fleet``            the devices: durable credentials and counters, attach with backoff.
- ``control_service``  the gRPC ``UeControlService`` (Attach, Status).
- ``server``           process start-up for ``mec5g ue serve``, with optional continuous load.
"""
