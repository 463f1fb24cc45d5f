"""The emulated MEC platform (``mec5g platform serve``): ETSI MEC 011 application enablement
and MEC 021 application mobility for every MEC host of the testbed, in one process, as
AdvantEDGE runs one such service per sandbox and scopes its resources by MEC host.

- ``instances``     MEC app instances, their tokens, readiness, services and termination.
- ``app_support``   the gRPC ``MecAppSupportService`` (MEC 011 mec_app_support) and
                    ``MecAppLcmService`` (the operator's termination, MEC 010-2 style).
- ``service_mgmt``  the gRPC ``MecServiceMgmtService`` (MEC 011 mec_service_mgmt: service
                    registration and discovery).
- ``app_mobility``  the gRPC ``AppMobilityService`` (MEC 021 amsi) and the emulated network's
                    ``MobilityEventService``.
- ``server``        process start-up for ``mec5g platform serve``.
"""
