"""Offline dual-control, split-knowledge key ceremonies for cloud BYOK."""

__version__ = "0.1.0"
