"""`python -m worker`: run the worker loop until SIGTERM or Ctrl-C."""

from worker.loop import main

main()
