"""The foundation every layer stands on: errors, optional imports, progress bars.

Nothing here imports another part of funksvd.
"""
