"""The UE emulator: one process holding N emulated IoT devices that attach through a MEC, and the
control service through which operators drive it with grpcurl.

- ``fleet``            the devices: durable credentials and counters, attach with backoff.
- ``control_service``  the gRPC ``UeControlService`` (Attach, Status).
- ``provisioning_service``  the gRPC ``UeProvisioningService`` (Provision), for the patient app.
- ``user_app``         the patient and doctor app of phases 1 and 2 (a client of the TTP).
- ``server``           process start-up for ``mec5g ue serve``, with optional continuous load.
"""
