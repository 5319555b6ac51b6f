"""Entente: a REST service that records diplomatic meetings."""
