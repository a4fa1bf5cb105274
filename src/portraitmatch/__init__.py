"""PortraitMatch: liveness challenge + 1:1 ID portrait matching for real-name SIM registration."""
