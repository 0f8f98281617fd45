"""Reading and writing ``.graph`` and ``.instances`` files. Pure: text in, blocks and diagnostics out."""
