"""HTTP service kit: problem+json errors, bearer auth, JSON logs, metrics and health probes."""
