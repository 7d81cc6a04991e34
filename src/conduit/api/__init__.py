"""The REST API: one module per resource, each exporting `routes`."""
