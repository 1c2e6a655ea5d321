"""Pretrained and fixed networks shared by models and metrics (frozen feature networks)."""
