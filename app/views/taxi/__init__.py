"""Taxi-meter (安心打车) views: the JJG 517 verification wizard."""
