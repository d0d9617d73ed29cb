"""The taxi-meter instrument kind (安心打车): its projection, statuses and JJG 517 verification."""
