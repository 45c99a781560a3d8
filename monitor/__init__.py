"""news-monitor: watch news feeds for your topics and get digests of what is new."""

__version__ = "0.1.0"
