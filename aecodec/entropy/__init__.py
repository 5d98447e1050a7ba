"""Entropy coding: frozen integer CDF tables and CompressAI's rANS coder.

The only package that touches compressai. Inference needs just the C++ rANS extension,
loaded without running ``compressai/__init__`` (which costs 10-20 s of imports).
"""
