"""The UE emulator: one process holding N emulated IoT devices that attach through a MEC and
stream their readings, and the control service through which operators drive it with grpcurl.

- ``fleet``            the devices: durable credentials and counters, attach with backoff.
- ``sensors``          the device's sensor model: seeded vital signs per patient, events.
- ``streaming``        the data streams: sealed records, session renewal, check-ins.
- ``control_service``  the gRPC ``UeControlService`` (Attach, Status, CheckIn, InjectEvent).
- ``server``           process start-up for ``mec5g ue serve``, with optional continuous load.
"""
