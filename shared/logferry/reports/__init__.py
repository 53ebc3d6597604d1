"""Reports built from parsed logs (e.g. the on-prem server load graph)."""
