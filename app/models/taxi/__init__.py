"""The taxi-meter instrument kind (安心打车): its JJG 517 verification."""
