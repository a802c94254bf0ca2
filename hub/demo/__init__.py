"""Demo data: one believable province to try the hub on (`hub demo-data`)."""
