"""Rendering ``reports/`` from results files and table specs only (never from a dashboard)."""
