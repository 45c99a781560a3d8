"""The web console: overview, topics with a live backtest, stories, feeds, deliveries.

Server-rendered (aiohttp + Jinja2 with autoescape), readable without JavaScript;
a few lines of vanilla JavaScript (static/console.js) only make the backtest
follow the query as it is typed. Every page but the login needs the admin
password (`auth.py`); every form carries a CSRF token.
"""

from monitor.console.routes import add_console

__all__ = ["add_console"]
