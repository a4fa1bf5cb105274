"""Turning stage results into one Decision with reason codes and a human message."""
