"""Generated gRPC stubs for the mec5g.v1 proto package; regenerate with protos/generate.py."""
