"""LogiStream: real-time cold-chain monitoring for refrigerated trucks."""

__version__ = "0.1.0"
