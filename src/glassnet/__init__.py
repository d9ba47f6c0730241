"""glassnet: deep learning in plain NumPy that reads like a textbook and trains like a framework."""

__version__ = "0.1.0"
