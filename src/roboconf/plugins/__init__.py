"""Installers: run the recipe steps of an instance (script, file, logger, simulated...)."""
