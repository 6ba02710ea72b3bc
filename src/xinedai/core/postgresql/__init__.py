"""Django's PostgreSQL backend with the connection health check run at most once a second (see base)."""
