"""A small local exchange speaking the part of Binance's spot REST API (v3) that ccxt's
``binance`` class uses, with a matching engine following the simulated venue's fill rules and
injectable faults: for tests, and for trying live trading without a real exchange."""
