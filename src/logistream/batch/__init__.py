"""LogiStream batch."""
