"""Where feeds come from: the feed behind a URL a user gives (feed_finder, autodiscovery) and
subscription lists from other readers (OPML)."""
