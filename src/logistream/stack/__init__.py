"""LogiStream stack."""
