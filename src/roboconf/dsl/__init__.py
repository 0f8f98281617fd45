"""Reading and writing ``.graph`` and ``.instances`` files.

Pure: text in, parse trees, models and diagnostics out.
"""
