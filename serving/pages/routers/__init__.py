"""Page routers, one module per group: sign-in, clinician, auditor, model, OpenAPI docs."""
