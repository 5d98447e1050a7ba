"""Learned image codec models."""
