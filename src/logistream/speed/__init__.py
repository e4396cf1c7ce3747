"""LogiStream speed."""
