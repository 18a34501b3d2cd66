"""The gRPC contract between a cabinet and the central pharmacy, and its generated code."""
