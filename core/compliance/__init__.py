"""The compliance record of every call: what applied at dial, the disclosure check after it, and
the words the call page, Home and the per-job compliance CSV show."""
