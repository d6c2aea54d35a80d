"""The worker process: one loop for time-driven work (dispatch, reconcile, purge)."""
