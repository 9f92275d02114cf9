"""Sparkify's Airflow operators and the helpers behind them."""
