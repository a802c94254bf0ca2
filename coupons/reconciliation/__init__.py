"""Reconciliation of coupon redemptions against a partner's or the billing system's settlement file."""
