"""Use cases that REST routes and socket handlers share (see docs/architecture.md)."""
