"""Learned audio codec models."""
