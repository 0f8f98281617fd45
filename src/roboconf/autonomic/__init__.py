"""Elasticity: the commands language, autonomic rules and probe measures. Pure."""
