"""Views of the taxi-meter instrument kind (安心打车)."""
