"""The simulated central pharmacy: a real asyncio gRPC server implementing proto/cabinet/v1."""
