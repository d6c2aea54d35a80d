"""CLI command modules: each registers commands with `core.manage.command`."""
