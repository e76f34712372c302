"""Alongside: a telehealth session server for virtual IOPs."""
