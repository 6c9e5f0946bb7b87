"""civicgrid — 互联网+城市管理监督综合平台."""

__version__ = "0.1.0"
