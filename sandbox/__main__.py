"""`python -m sandbox`: serve the sandbox providers on SANDBOX_PORT."""

from sandbox.server import main

main()
