"""Personal data: legal holds, retention schedules, erasure and access requests (no web framework here)."""
