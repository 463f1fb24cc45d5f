"""The UE emulator: one process holding N emulated IoT devices that attach through a MEC and
stream their readings, and the control service through which operators drive it with grpcurl.

- ``fleet``            the devices: durable credentials and counters, attach with backoff.
- ``sensors``          the device's sensor model: seeded vital signs per patient, events.
- ``streaming``        the data streams: sealed records, session renewal, check-ins.
- ``control_service``  the gRPC ``UeControlService`` (Attach, Status, CheckIn, InjectEvent).
- ``provisioning_service``  the gRPC ``UeProvisioningService`` (Provision), for the patient app.
- ``user_app``         the patient and doctor app of phases 1 and 2 (a client of the TTP).
- ``server``           process start-up for ``mec5g ue serve``, with optional continuous load.
"""
