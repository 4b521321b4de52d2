"""HTTP routers, one module per resource: predictions, model, audit, health/metrics."""
