"""Wiring of the trading core: open the store, load data, run backtests, paper runs, grids."""
