"""Forecasters of geomagnetic time series (placeholder; filled by the forecasting issue)."""
