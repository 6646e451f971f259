"""Small Sphinx extensions the book uses (listed in ``_config.yml``)."""
