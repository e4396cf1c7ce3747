"""LogiStream serving."""
