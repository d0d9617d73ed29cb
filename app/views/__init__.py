"""Widgets and Qt item models. Thin: they display what workers report."""
