"""`python -m core.sandbox`: serve the sandbox providers on SANDBOX_PORT."""

from core.sandbox.server import main

main()
