"""aecodec: learned media codecs and restoration.

Importing this package must stay cheap: no torch, numpy or compressai here.
"""

__version__ = "0.1.0"
