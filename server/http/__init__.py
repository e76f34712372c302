"""HTTP routes: pages, static files, health."""
