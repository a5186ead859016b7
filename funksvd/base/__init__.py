"""The foundation every layer stands on: errors, optional imports, progress bars, the atomic file write.

Nothing here imports another part of funksvd.
"""
