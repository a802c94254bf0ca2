"""Bulk import of regions, stores, staff and products from CSV, all or nothing."""
