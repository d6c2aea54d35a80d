"""The shape of every stored document, as typed models shared by the features.

Each feature's store reads and writes its collections; what a document holds is written
down here once. The models read every document the code has ever written: unknown fields
are ignored, every field has a default, and explicit nulls are accepted.
"""
